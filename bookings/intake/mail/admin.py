"""Inbound email in front of staff: the attention list, proposals beside their booking, Apply/Dismiss.

``InboundEmailAdmin`` is read-only except for the decisions: *Apply* (through
``proposals.proposal_apply``, the one upsert) and *Dismiss*, as list actions and as buttons on
each message (``get_urls``). An unparsed message offers the add-booking form prefilled with
what was found; ``BookingFromEmailMixin`` (mixed into the booking admin) links the booking
made there back to the message.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from charterops.admin_lists import ScalableListMixin, fixed_choices_filter

from ..schema import InvalidPayload
from .models import InboundEmail
from .parsers import MARKETPLACES, message_text
from .proposals import (
    ProposalClosed,
    booking_initial_from_email,
    inbound_email_link,
    proposal_apply,
    proposal_diff,
    proposal_dismiss,
)

Status = InboundEmail.Status
#: the query parameter of the add-booking form that names the message it is made from
FROM_EMAIL = "from_email"
STATUS_COLOURS = {
    "unparsed": "#b45309",
    "proposed": "#1d4ed8",
    "applied": "#1b7f3b",
    "linked": "#1b7f3b",
    "stale": "#6b7280",
    "dismissed": "#6b7280",
    "received": "#6b7280",
}
MAX_PREVIEW_CHARS = 20_000


class AttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", "Unparsed or proposed"), ("unauthenticated", "Not authenticated")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status__in=InboundEmail.ATTENTION)
        if self.value() == "unauthenticated":
            return queryset.filter(~Q(marketplace=""), authenticated=False)
        return queryset


def _can_decide(request: HttpRequest) -> bool:
    user = request.user
    return all(
        user.has_perm(p)
        for p in ("bookings.change_inboundemail", "bookings.add_booking", "bookings.change_booking")
    )


@admin.register(InboundEmail)
class InboundEmailAdmin(ScalableListMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "subject_display",
        "from_address",
        "marketplace",
        "event",
        "external_id",
        "status_badge",
        "auth_badge",
        "booking_link",
    ]
    list_display_links = ["received_at", "subject_display"]
    list_filter = [
        AttentionFilter,
        "status",
        fixed_choices_filter("via", InboundEmail.Via.choices),
        fixed_choices_filter("marketplace", [(m.source, m.source) for m in MARKETPLACES]),
        "authenticated",
    ]
    search_fields = ["subject", "from_address", "external_id", "message_id"]
    date_hierarchy = "received_at"
    list_select_related = ["booking"]
    list_per_page = 50
    actions = ["apply_proposals", "dismiss_messages"]
    change_form_template = "admin/bookings/inboundemail/change_form.html"
    fieldsets = [
        (None, {"fields": ["status_badge", "problems_display", "booking_link"]}),
        ("Proposal", {"fields": ["diff_display"]}),
        (
            "Message",
            {
                "fields": [
                    ("subject", "from_address"),
                    ("marketplace", "event", "external_id"),
                    ("via", "received_at", "sent_at", "occurred_at", "times_seen"),
                    ("message_id", "size"),
                ]
            },
        ),
        (
            "Authenticity",
            {"fields": [("sender_domain", "authenticated"), ("dkim", "spf", "dmarc")]},
        ),
        ("What the parser found", {"fields": ["found_display"]}),
        ("Text", {"fields": ["text_display"], "classes": ["collapse"]}),
        (
            "Headers and envelope",
            {"fields": ["headers_display", "envelope"], "classes": ["collapse"]},
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [
            f
            for fieldset in self.fieldsets
            for row in fieldset[1]["fields"]
            for f in (row if isinstance(row, tuple) else (row,))
        ]

    def get_queryset(self, request):
        # The raw message may be megabytes: read it only where it is shown (the text).
        return super().get_queryset(request).defer("raw")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_decide_permission(self, request) -> bool:
        return _can_decide(request)

    # --- list columns ---

    @admin.display(description="subject", ordering="subject")
    def subject_display(self, obj: InboundEmail) -> str:
        return (obj.subject or "(no subject)")[:80]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: InboundEmail) -> str:
        return format_html(
            '<span class="co-email-status" style="display:inline-block;padding:1px 6px;'
            'border-radius:8px;font-size:11px;background:{};color:#fff">{}</span>',
            STATUS_COLOURS.get(obj.status, "#6b7280"),
            obj.get_status_display(),
        )

    @admin.display(description="sender")
    def auth_badge(self, obj: InboundEmail) -> str:
        if not obj.marketplace:
            return "—"
        if obj.authenticated:
            return format_html(
                '<span title="dkim={} dmarc={}">✓ authentic</span>', obj.dkim, obj.dmarc
            )
        return format_html(
            '<strong style="color:#b91c1c" title="dkim={} spf={} dmarc={}">✗ not authenticated</strong>',
            obj.dkim or "?",
            obj.spf or "?",
            obj.dmarc or "?",
        )

    @admin.display(description="booking")
    def booking_link(self, obj: InboundEmail) -> str:
        if not obj.booking_id:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:bookings_booking_change", args=[obj.booking_id]),
            obj.booking.reference,
        )

    # --- detail ---

    @admin.display(description="problems")
    def problems_display(self, obj: InboundEmail) -> str:
        return format_html_join("", "<div>{}</div>", ((p,) for p in obj.problems)) or "—"

    @admin.display(description="booking now → proposed")
    def diff_display(self, obj: InboundEmail) -> str:
        booking, rows = proposal_diff(obj)
        if not rows:
            return "—"
        heading = (
            format_html("changes booking {}", booking.reference)
            if booking
            else "creates a new booking"
        )
        body = format_html_join(
            "",
            '<tr class="{}"><th scope="row">{}</th><td>{}</td><td>{}</td></tr>',
            (
                (
                    "co-changed" if r.changed else "",
                    r.field.replace("_", " "),
                    _shown(r.current),
                    _shown(r.proposed),
                )
                for r in rows
            ),
        )
        return format_html(
            "<style>.co-email-diff tr.co-changed td{{background:#fef3c7}}</style>"
            '<p>{}</p><table class="co-email-diff"><thead><tr><th>field</th><th>now</th>'
            "<th>proposed</th></tr></thead><tbody>{}</tbody></table>",
            heading,
            body,
        )

    @admin.display(description="found")
    def found_display(self, obj: InboundEmail) -> str:
        return (
            format_html_join(
                "", "<div><strong>{}</strong>: {}</div>", sorted((obj.found or {}).items())
            )
            or "nothing"
        )

    @admin.display(description="text")
    def text_display(self, obj: InboundEmail) -> str:
        from email import policy
        from email.parser import BytesParser

        try:
            text = message_text(BytesParser(policy=policy.default).parsebytes(bytes(obj.raw)))
        except Exception as exc:  # noqa: BLE001 (a broken message still shows the page)
            text = f"(cannot be read: {exc})"
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', text[:MAX_PREVIEW_CHARS])

    @admin.display(description="headers")
    def headers_display(self, obj: InboundEmail) -> str:
        return format_html(
            '<pre style="white-space:pre-wrap">{}</pre>',
            "\n".join(f"{name}: {value}" for name, value in obj.headers),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        email = self.get_object(request, object_id)
        extra = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
            "can_decide": bool(email and email.needs_attention and _can_decide(request)),
            "can_apply": bool(email and email.status == Status.PROPOSED),
        }
        if (
            email
            and email.status == Status.UNPARSED
            and request.user.has_perm("bookings.add_booking")
        ):
            extra["booking_add_url"] = (
                reverse("admin:bookings_booking_add") + f"?{FROM_EMAIL}={email.pk}"
            )
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    # --- decisions ---

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/apply/", view(require_POST(self.apply_view)), name="bookings_inboundemail_apply"),
            path("<int:pk>/dismiss/", view(require_POST(self.dismiss_view)), name="bookings_inboundemail_dismiss"),
            *super().get_urls(),
        ]  # fmt: skip

    def _back(self, pk: int) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:bookings_inboundemail_change", args=[pk]))

    def apply_view(self, request, pk: int):
        if not _can_decide(request):
            raise PermissionDenied
        email = get_object_or_404(InboundEmail, pk=pk)
        self._apply_one(request, email)
        return self._back(pk)

    def dismiss_view(self, request, pk: int):
        if not _can_decide(request):
            raise PermissionDenied
        email = get_object_or_404(InboundEmail, pk=pk)
        if proposal_dismiss(email, actor=request.user):
            self.message_user(request, "Dismissed.", messages.SUCCESS)
        else:
            self.message_user(request, "This message was decided already.", messages.WARNING)
        return self._back(pk)

    def _apply_one(self, request, email: InboundEmail) -> str | None:
        try:
            result = proposal_apply(email, actor=request.user)
        except ProposalClosed as exc:
            self.message_user(request, f"{email}: not applied, {exc}.", messages.WARNING)
            return None
        except InvalidPayload as exc:
            self.message_user(request, f"{email}: not applied: {exc}", messages.ERROR)
            return None
        booking = result.email.booking
        self.message_user(
            request,
            f"Applied: booking {booking.reference} {result.booking_outcome}."
            if result.outcome == Status.APPLIED
            else f"Stale: booking {booking.reference} already has a later event; nothing changed.",
            messages.SUCCESS if result.outcome == Status.APPLIED else messages.WARNING,
        )
        return result.outcome

    @admin.action(description="Apply the selected proposals", permissions=["decide"])
    def apply_proposals(self, request, queryset):
        for email in queryset.order_by("sent_at", "pk"):  # oldest first, as they happened
            self._apply_one(request, email)

    @admin.action(description="Dismiss the selected messages", permissions=["decide"])
    def dismiss_messages(self, request, queryset):
        dismissed = sum(proposal_dismiss(e, actor=request.user) for e in queryset)
        self.message_user(request, f"Dismissed {dismissed} message(s).", messages.SUCCESS)


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        return timezone.localtime(value).strftime("%a %b %-d %Y, %H:%M")
    return str(value)


class InboundEmailInline(admin.TabularInline):
    """The emails a booking was made or changed from, on its page (read-only)."""

    model = InboundEmail
    fk_name = "booking"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["received_at", "subject", "event", "status", "authenticated"]
    readonly_fields = fields
    verbose_name_plural = "emails"
    ordering = ["-received_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("raw", "headers", "found", "payload")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class BookingFromEmailMixin:
    """The booking admin's add form, prefilled from an unparsed message (``?from_email=<id>``);
    the booking saved there is linked back to the message. A booking made or changed from
    emails lists them on its page."""

    def get_inlines(self, request, obj):
        inlines = list(super().get_inlines(request, obj))
        if (
            obj is not None
            and request.user.has_perm("bookings.view_inboundemail")
            and InboundEmail.objects.filter(booking=obj).exists()
        ):
            inlines.append(InboundEmailInline)
        return inlines

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        email = _email_from(request)
        if email is not None:
            initial.pop(FROM_EMAIL, None)
            initial.update(booking_initial_from_email(email))
        return initial

    def response_add(self, request, obj, post_url_continue=None):
        email = _email_from(request)
        if email is not None:
            inbound_email_link(email, obj, actor=request.user)
        return super().response_add(request, obj, post_url_continue)


def _email_from(request) -> InboundEmail | None:
    value = request.GET.get(FROM_EMAIL, "")
    if not value.isdigit() or not request.user.has_perm("bookings.view_inboundemail"):
        return None
    return InboundEmail.objects.defer("raw").filter(pk=int(value)).first()
