"""Admin for crew members, checklist templates, expenses and notifications.

Also crew's sections of the hub's booking admin (``bookings.admin_sections``): the crew and
checklist inlines, the crew column, filter and action (``CREW_SECTION``), the crew
operations (``admin_ops``) and the departure and return record (``voyage.admin``).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery
from django.utils import timezone
from django.utils.html import format_html_join

from bookings.admin_sections import AdminSection, admin_section_register
from bookings.models import Booking
from bookings.services import booking_touch
from charterops.admin_lists import ScalableListMixin

from .admin_ops import EDIT_CHECKLIST, ExpenseApprovalMixin
from .assignments_conflicts import crew_assignment_conflicts
from .forms import CrewMemberAdminForm
from .magic_links import magic_links_revoke_for_booking, magic_links_revoke_for_member
from .members import crew_member_create
from .models import (
    ChecklistItem,
    ChecklistTemplate,
    ChecklistTemplateItem,
    CrewAssignment,
    CrewMember,
    Expense,
    Notification,
    StaffNotice,
)
from .voyage import admin as voyage_admin  # noqa: F401  (registers the record's sections)


class LoadedAutocompleteSelect(AutocompleteSelect):
    """The admin's autocomplete, labelling the selected member from rows already loaded.

    Django's widget looks the selected object up again, one query per form; the booking
    page's crew inline has the members from its own ``select_related`` (``loaded``).
    """

    loaded: dict[str, models.Model]

    def optgroups(self, name, value, attr=None):
        selected = {str(v) for v in value if str(v) not in self.choices.field.empty_values}
        loaded = getattr(self, "loaded", {})
        if not selected or not selected <= loaded.keys():
            return super().optgroups(name, value, attr)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        for pk in sorted(selected):
            label = self.choices.field.label_from_instance(loaded[pk])
            options.append(self.create_option(name, pk, label, selected, len(options)))
        return [(None, options, 0)]


class CrewAssignmentInline(admin.TabularInline):
    model = CrewAssignment
    extra = 0
    autocomplete_fields = ["member"]
    fields = ["member", "role", "pay", "response", "responded_at", "notified_at", "escalated_at"]
    readonly_fields = ["responded_at", "notified_at", "escalated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("member")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "member":
            kwargs["widget"] = LoadedAutocompleteSelect(db_field, self.admin_site)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_formset(self, request, obj=None, **kwargs):
        """A formset that warns, after every save of the booking page, about double bookings."""
        formset = super().get_formset(request, obj, **kwargs)

        class ConflictWarningFormSet(formset):
            def _construct_form(self, i, **kwargs):
                form = super()._construct_form(i, **kwargs)
                widget = getattr(form.fields["member"].widget, "widget", None)
                if isinstance(widget, LoadedAutocompleteSelect) and form.instance.member_id:
                    widget.loaded = {str(form.instance.member_id): form.instance.member}
                return form

            def save(self, commit: bool = True):
                saved = super().save(commit=commit)
                if commit:
                    crew_conflicts_warn(request, self.instance)
                return saved

        return ConflictWarningFormSet


def crew_conflicts_warn(request, booking) -> int:
    """Add one admin warning per member who is also on an overlapping charter."""
    conflicts = crew_assignment_conflicts(booking)
    for conflict in conflicts:
        messages.warning(request, str(conflict))
    return len(conflicts)


class CrewSilenceFilter(admin.SimpleListFilter):
    """The crew part of the attention list: members silent close to the charter."""

    title = "crew answers"
    parameter_name = "crew"

    def lookups(self, request, model_admin):
        return [
            ("silent", "Silent close to the charter"),
            ("unanswered", "Someone has not answered"),
            (CrewAssignment.Response.DECLINED, "Someone declined"),
            (Notification.Status.FAILED, "A message failed for good"),
        ]

    def queryset(self, request, queryset):
        # EXISTS, not a join and DISTINCT: the page's sort and limit stay on the booking index.
        invited = CrewAssignment.Response.INVITED
        conditions = {
            "silent": Q(escalated_at__isnull=False, response=invited),
            "unanswered": Q(response=invited),
            CrewAssignment.Response.DECLINED: Q(response=CrewAssignment.Response.DECLINED),
        }
        if self.value() == Notification.Status.FAILED:
            failed = Notification.objects.filter(
                booking=OuterRef("pk"),
                booking_version=OuterRef("version"),
                status=Notification.Status.FAILED,
            )
            return queryset.filter(Exists(failed))
        if self.value() not in conditions:
            return queryset
        crew = CrewAssignment.objects.filter(conditions[self.value()], booking=OuterRef("pk"))
        return queryset.filter(Exists(crew))


#: the crew-answer marks of the booking list and week board, explained by their legend
ANSWER_MARKS = {"accepted": "✓", "declined": "✗", "invited": "?"}
ANSWER_WORDS = {"accepted": "accepted", "declined": "declined", "invited": "not answered yet"}


def crew_answers_html(assignments) -> str:
    """Each member's short name and answer mark; the mark's meaning in its title and for
    screen readers (``charterops/admin.css`` styles it)."""
    items = format_html_join(
        " ",
        '<span class="co-crew">{} <span class="co-answer co-{}" title="{}" '
        'aria-hidden="true">{}</span><span class="co-sr">({})</span></span>',
        (
            (
                a.member.name,
                a.response,
                ANSWER_WORDS[a.response].capitalize(),
                ANSWER_MARKS[a.response],
                ANSWER_WORDS[a.response],
            )
            for a in assignments
        ),
    )
    return items or "—"


@admin.action(description="Revoke crew links (every member of the charter)", permissions=["change"])
def revoke_crew_links(modeladmin, request, queryset):
    """BookingAdmin action: every crew link and crew session to the selected charters stops."""
    new_links: list = []
    count = sum(
        magic_links_revoke_for_booking(b, actor=request.user, new_links=new_links) for b in queryset
    )
    modeladmin.message_user(
        request,
        f"Revoked the crew links of {count} assignment(s); "
        f"{len(new_links)} member(s) are sent a new link.",
    )


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    fields = ["phase", "position", "text", "required", "done_by", "done_at", "note"]
    readonly_fields = ["done_by", "done_at"]
    ordering = ["-phase", "position"]  # "pre" sorts after "post": descending puts it first

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("done_by")


@admin.display(description="crew")
def crew_display(model_admin, obj) -> str:
    """The booking list's crew column (and the week board's cards)."""
    return crew_answers_html(obj.assignments.all())


def booking_crew_prefetch(queryset):
    """The booking admin's rows with their crew and members (one query per page)."""
    return queryset.prefetch_related(
        Prefetch(
            "assignments",
            queryset=CrewAssignment.objects.select_related("member").order_by("role"),
        )
    )


def booking_crew_saved(request, booking, formset) -> None:
    """A changed crew formset on the booking page: the booking's crew changed."""
    if formset.model is CrewAssignment:
        booking_touch(booking, reason="crew_changed", actor=request.user)


#: the booking admin's crew: the compact checklist formset opens with ``?edit=checklist``
CREW_SECTION = AdminSection(
    key="crew",
    order=10,
    inlines=[CrewAssignmentInline, ChecklistItemInline],
    compact_inlines={EDIT_CHECKLIST: ChecklistItemInline},
    columns=[("crew_display", "fanout")],
    list_filters=[(CrewSilenceFilter, "DoubleBookedFilter")],
    actions=[revoke_crew_links],
    displays=[crew_display],
    queryset=booking_crew_prefetch,
    formset_saved=booking_crew_saved,
)
admin_section_register(Booking, CREW_SECTION)


class _NotificationLogInline(admin.TabularInline):
    """Notifications as a read-only log: written by the system, never edited by staff."""

    model = Notification
    extra = 0
    can_delete = False
    #: the columns both pages show after the time and the member or the booking
    columns = [
        "kind",
        "channel",
        "booking_version",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "provider_message_id",
        "error",
    ]

    def has_add_permission(self, request, obj=None):
        return False


class NotificationInline(_NotificationLogInline):
    """On the booking page: who was told what."""

    fields = readonly_fields = ["created_at", "member", *_NotificationLogInline.columns]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("member")


class MemberNotificationInline(_NotificationLogInline):
    """The member's messages, newest first: what they were told, how, and whether it arrived."""

    fields = readonly_fields = ["created_at", "booking", *_NotificationLogInline.columns]
    max_num = 0
    verbose_name_plural = "notifications"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("booking__boat")


@admin.register(CrewMember)
class CrewMemberAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "notify_by", "email_flagged", "last_told", "active"]
    readonly_fields = ["last_told_display"]
    list_filter = ["active", "notify_by", ("email_flagged", admin.EmptyFieldListFilter)]
    search_fields = ["name", "email", "phone"]
    inlines = [MemberNotificationInline]
    actions = ["revoke_links"]
    # One form: the member's login account is made for them on add (crew_member_create).
    form = CrewMemberAdminForm

    def get_fields(self, request, obj=None):
        fields = ["name", "email", "phone", "roles", "notify_by", "active"]
        return fields if obj is None else [*fields, "user", "email_flagged", "last_told_display"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "user", "email_flagged"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        created = crew_member_create(actor=request.user, **form.cleaned_data)
        obj.pk, obj.user_id = created.pk, created.user_id
        obj._state.adding, obj._state.db = False, created._state.db

    def get_queryset(self, request):
        # The newest message that reached each member, in the list's own query.
        last_sent = Notification.objects.filter(
            member=OuterRef("pk"),
            status__in=[Notification.Status.SENT, Notification.Status.BOUNCED],
        ).order_by("-sent_at")
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_told_at=Subquery(last_sent.values("sent_at")[:1]),
                last_told_kind=Subquery(last_sent.values("kind")[:1]),
            )
        )

    @admin.display(description="last told", ordering="last_told_at")
    def last_told(self, obj) -> str:
        if not getattr(obj, "last_told_at", None):
            return "—"
        kind = Notification.Kind(obj.last_told_kind).label
        return f"{kind}, {timezone.localtime(obj.last_told_at):%b %-d %H:%M}"

    @admin.display(description="what they were last told, per charter")
    def last_told_display(self, obj) -> str:
        from .admin_ops import last_told_table
        from .notifications import crew_last_told

        return last_told_table(crew_last_told(member=obj), first_column="booking")

    @admin.action(description="Revoke magic links (all charters)", permissions=["change"])
    def revoke_links(self, request, queryset):
        new_links: list = []
        count = sum(
            magic_links_revoke_for_member(m, actor=request.user, new_links=new_links)
            for m in queryset
        )
        self.message_user(
            request,
            f"Revoked {count} link(s) of {queryset.count()} member(s); "
            f"{len(new_links)} new link message(s) are being sent.",
        )


class ChecklistTemplateItemInline(admin.TabularInline):
    model = ChecklistTemplateItem
    extra = 1
    fields = ["phase", "position", "text", "required"]


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "boat"]
    list_select_related = ["boat"]
    inlines = [ChecklistTemplateItemInline]


@admin.register(Expense)
class ExpenseAdmin(ExpenseApprovalMixin, admin.ModelAdmin):
    list_display = [
        "booking",
        "member",
        "kind",
        "amount",
        "miles",
        "note",
        "receipt_link",
        "approved",
        "approved_by",
        "created_at",
    ]
    list_filter = ["kind", ("approved_by", admin.EmptyFieldListFilter)]
    search_fields = ["member__name", "booking__external_id", "note"]
    list_select_related = ["booking", "member", "approved_by"]
    autocomplete_fields = ["member"]
    raw_id_fields = ["booking"]


@admin.register(Notification)
class NotificationAdmin(ScalableListMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "member",
        "booking",
        "kind",
        "channel",
        "status",
        "booking_version",
        "attempts",
        "sent_at",
        "error",
    ]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["member__name", "booking__external_id", "provider_message_id"]
    list_select_related = ["member", "booking"]
    readonly_fields = ["message_preview"]
    actions = ["retry_failed"]

    @admin.action(description="Send failed notifications again", permissions=["retry"])
    def retry_failed(self, request, queryset):
        from collections import Counter

        from .notifications import notification_retry

        outcomes = Counter(notification_retry(n, actor=request.user) for n in queryset)
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        self.message_user(request, f"Retried: {summary}.")

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("bookings.change_booking")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="message (as sent, without the personal link)")
    def message_preview(self, obj: Notification) -> str:
        from django.utils.html import format_html

        from .notifications import notification_preview

        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", notification_preview(obj))


@admin.register(StaffNotice)
class StaffNoticeAdmin(admin.ModelAdmin):
    """What staff were told about crew (declines, silence, failed messages): the crew part of
    the attention list. Written by the system; read-only."""

    list_display = ["created_at", "kind", "booking", "member", "recipient", "status", "error"]
    list_filter = ["kind", "status"]
    search_fields = ["subject", "recipient", "member__name", "booking__external_id"]
    list_select_related = ["booking", "member"]
    readonly_fields = [f.name for f in StaffNotice._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
