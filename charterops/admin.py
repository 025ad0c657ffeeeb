"""Admin for the audit trail and fan-out rows (read-only: they are written by the system)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from .admin_lists import ScalableListMixin, fixed_choices_filter
from .fanout.engine import booking_fanout_retry
from .fanout.targets import target_choices, target_label, target_short
from .models import AuditEvent, TargetState

BADGE_COLOURS = {
    "done": ("#1b7f3b", "#fff"),
    "skipped": ("#6b7280", "#fff"),
    "running": ("#1d4ed8", "#fff"),
    "pending": ("#e5e7eb", "#111"),
    "retrying": ("#b45309", "#fff"),
    "failed": ("#b91c1c", "#fff"),
}


def state_badge(state: TargetState) -> str:
    bg, fg = BADGE_COLOURS.get(state.status, ("#e5e7eb", "#111"))
    title = (
        state.last_error
        or f"{state.get_status_display()} (v{state.synced_version}/{state.desired_version})"
    )
    return format_html(
        '<span class="co-badge co-{}" title="{}" style="display:inline-block;padding:1px 6px;'
        'margin:1px;border-radius:8px;font-size:11px;background:{};color:{}">{}: {}</span>',
        state.status,
        title,
        bg,
        fg,
        target_label(state.target),
        state.get_status_display(),
    )


def state_badges(states) -> str:
    return format_html_join("", "{}", ((state_badge(s),) for s in states)) or "—"


def state_badges_compact(states) -> str:
    """One small coloured word per target, its status in the title and for screen readers.

    Styled by ``charterops/admin.css`` (classes, no inline styles), so a list of fifty
    bookings fits 1280 px and renders cheaply.
    """
    pills = format_html_join(
        "",
        '<span class="co-pill co-{}" title="{}: {}{}" aria-hidden="true">{}</span>'
        '<span class="co-sr">{}: {}.</span>',
        (
            (
                s.status,
                target_label(s.target),
                s.get_status_display(),
                f" — {s.last_error}" if s.last_error else "",
                target_short(s.target),
                target_label(s.target),
                s.get_status_display(),
            )
            for s in states
        ),
    )
    return format_html('<span class="co-badges">{}</span>', pills) if pills else "—"


class LabelledInlinesMixin:
    """Gives every input of a ModelAdmin's inline rows an accessible name.

    A tabular inline shows its labels once, as column headers, so each row's inputs have no
    label of their own (axe-core: "Form elements must have labels", critical). Each gets an
    ``aria-label`` such as "Crew assignment 2: Role" (and "...: Delete"), whichever app owns
    the inline.
    """

    def get_inline_formsets(self, request, formsets, inline_instances, obj=None):
        for formset in formsets:
            noun = capfirst(formset.model._meta.verbose_name)
            for number, form in enumerate(formset.forms, start=1):
                for name, field in form.fields.items():
                    widget = getattr(field.widget, "widget", field.widget)
                    label = "Delete" if name == "DELETE" else capfirst(str(field.label or name))
                    widget.attrs.setdefault("aria-label", f"{noun} {number}: {label}")
        return super().get_inline_formsets(request, formsets, inline_instances, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ScalableListMixin, ReadOnlyAdmin):
    list_display = ["created_at", "action", "object_repr", "actor_label"]
    list_filter = [
        fixed_choices_filter(
            "action", [(f"{app}.", app) for app in ("bookings", "crew", "guestpages", "charterops")]
        ),
    ]
    search_fields = ["action", "object_repr", "object_id", "actor_label"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    list_per_page = 50


class AttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            (TargetState.Status.FAILED, TargetState.Status.FAILED.label),
            ("stuck", "Stuck (lease expired or overdue)"),
            ("all", "Failed or stuck"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        status = TargetState.Status
        stuck = Q(status=status.RUNNING, leased_at__lt=now - timezone.timedelta(minutes=5)) | Q(
            status__in=[status.PENDING, status.RETRYING],
            updated_at__lt=now - timezone.timedelta(minutes=10),
        )
        if self.value() == status.FAILED:
            return queryset.filter(status=status.FAILED)
        if self.value() == "stuck":
            return queryset.filter(stuck)
        if self.value() == "all":
            return queryset.filter(stuck | Q(status=status.FAILED))
        return queryset


@admin.register(TargetState)
class TargetStateAdmin(ScalableListMixin, ReadOnlyAdmin):
    """Every (booking, target) row; filtered to 'Failed or stuck' it is the attention list."""

    list_display = [
        "booking",
        "target",
        "badge",
        "synced_version",
        "desired_version",
        "attempts",
        "next_attempt_at",
        "last_error",
        "external_ref",
        "updated_at",
    ]
    list_filter = [
        AttentionFilter,
        "status",
        fixed_choices_filter("target", target_choices),
    ]
    search_fields = ["booking__external_id", "booking__guest_name", "last_error", "external_ref"]
    list_select_related = ["booking"]
    actions = ["retry_rows"]
    list_per_page = 50

    @admin.display(description="status")
    def badge(self, obj: TargetState) -> str:
        return state_badge(obj)

    @admin.action(description="Retry the selected targets", permissions=["retry"])
    def retry_rows(self, request, queryset):
        bookings = {s.booking for s in queryset.select_related("booking")}
        for booking in bookings:
            booking_fanout_retry(booking, actor=request.user, only_failed=False)
        self.message_user(request, f"Re-queued targets of {len(bookings)} booking(s).")

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("bookings.change_booking")
