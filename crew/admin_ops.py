"""Crew operations on the booking's admin: checklist progress and "ready", photos, money.

Registered as the ``crew.ops`` section of the booking admin (``bookings.admin_sections``,
from ``crew/admin.py``): a "ready" column on the booking list (counted for the page's bookings
in one query, so the page costs the same whatever the number of bookings), a "Crew
operations" section on the booking page, and the booking page's checklist and crew
notification tables.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from bookings.admin_sections import EDIT_PARAM, AdminSection, admin_section_register
from bookings.booking_page_admin import (
    admin_list_link,
    history_section,
    history_table,
    history_when,
)
from bookings.models import Booking
from bookings.photos.uploads import photo_view_url

from .checklist import checklist_progress, checklist_progress_attach
from .expenses import booking_money_summary, crew_pay_csv, crew_pay_rows, expense_approve

#: ``?edit=checklist`` on the booking page brings back the checklist's editable formset
EDIT_CHECKLIST = "checklist"
#: the booking page shows this many notifications, newest first, and links to the rest
NOTIFICATIONS_SHOWN = 10


def last_told_table(pairs, *, first_column: str) -> str:
    """The "what each member was last told, and when" table (booking page and member page)."""
    if not pairs:
        return "Nobody has been told anything yet."

    def describe(note) -> str:
        if note is None:
            return "—"
        when = note.sent_at or note.created_at
        return f"{note.get_kind_display()} (v{note.booking_version}), {timezone.localtime(when):%b %-d %H:%M}"

    def newest(pair) -> str:
        if pair.up_to_date:
            return "up to date"
        note = pair.newest
        reason = f": {note.error}" if note.error else ""
        return (
            f"v{note.booking_version} {note.get_kind_display()} {note.get_status_display()}{reason}"
        )

    rows = (
        (
            pair.member.name if first_column == "member" else str(pair.booking),
            describe(pair.told),
            pair.told.get_channel_display() if pair.told else "",
            "ok" if pair.up_to_date else "pending",
            newest(pair),
        )
        for pair in pairs
    )
    return format_html(
        '<table class="crew-last-told"><thead><tr><th>{}</th><th>last told</th><th>how</th>'
        "<th>newest message</th></tr></thead><tbody>{}</tbody></table>",
        "member" if first_column == "member" else "charter",
        format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td>{}</td><td data-state="{}">{}</td></tr>',
            rows,
        ),
    )


def page_bookings_loaded(bookings: list) -> list:
    """Read the checklist counts of a page's bookings (the list, the week board): one query."""
    return checklist_progress_attach(bookings)


@admin.display(description="crew told")
def crew_last_told_display(model_admin, obj):
    from .notifications import crew_last_told

    return last_told_table(crew_last_told(booking=obj), first_column="member")


@admin.display(description="ready", boolean=True)
def checklist_ready(model_admin, obj):
    progress = checklist_progress(obj)
    return progress.ready if progress.total else None


@admin.display(description="checklist")
def checklist_progress_display(model_admin, obj):
    progress = checklist_progress(obj)
    if not progress.total:
        return "No checklist yet (it is copied from the boat's template when confirmed)."
    return format_html(
        '<strong data-checklist-progress="{}/{}">{}/{}</strong> done · required: {}/{} {}'
        " · pre-charter {}",
        progress.done,
        progress.total,
        progress.done,
        progress.total,
        progress.required_done,
        progress.required_total,
        "✓" if progress.required_complete else "(open)",
        "READY" if progress.ready else "not ready",
    )


@admin.display(description="money")
def money_summary_display(model_admin, obj):
    m = booking_money_summary(obj)
    rows = [
        ("Owner payout", m.owner_payout),
        ("Crew pay", m.crew_pay),
        ("Approved expenses", m.approved_expenses),
        ("Expenses awaiting approval", m.pending_expenses),
        ("Tips received (paid by guests, shared among crew)", m.tips),
        ("Owner payout − crew pay − approved expenses", m.margin),
    ]
    return format_html(
        '<table class="crew-money" data-margin="{}">{}</table>',
        m.margin,
        format_html_join(
            "", '<tr><th scope="row">{}</th><td style="text-align:right">${}</td></tr>', rows
        ),
    )


@admin.display(description="photos")
def photo_gallery_display(model_admin, obj):
    photos = list(obj.photos.filter(hidden=False).select_related("member"))
    if not photos:
        return "No photos yet."
    return format_html(
        '<div class="crew-gallery" style="display:flex;flex-wrap:wrap;gap:6px">{}</div>',
        format_html_join(
            "",
            '<a href="{0}" target="_blank" rel="noopener"><img src="{0}" alt="{1}"'
            ' style="width:120px;height:120px;object-fit:cover;border-radius:4px"'
            ' loading="lazy"></a>',
            (
                (photo_view_url(p), f"{p.get_uploaded_by_display()} {p.member or ''}".strip())
                for p in photos
            ),
        ),
    )


def checklist_table(items) -> SafeString:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                item.get_phase_display(),
                item.position,
                item.text,
                "yes" if item.required else "no",
                item.done_by.name if item.done_by else "—",
                history_when(item.done_at),
                item.note,
            )
            for item in items
        ),
    )
    return history_table(
        caption="Checklist items",
        headers=["phase", "#", "item", "required", "done by", "done at", "note"],
        rows=rows,
        empty="No checklist items yet.",
    )


def notifications_table(notes, *, change_url) -> SafeString:
    rows = format_html_join(
        "",
        '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>v{}</td>'
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                change_url(n),
                history_when(n.created_at),
                n.member.name,
                n.get_kind_display(),
                n.get_channel_display(),
                n.booking_version,
                n.get_status_display(),
                n.attempts,
                history_when(n.next_attempt_at),
                history_when(n.sent_at),
                n.provider_message_id,
                n.error,
            )
            for n in notes
        ),
    )
    return history_table(
        caption="Crew notifications, newest first",
        headers=[
            "created",
            "member",
            "kind",
            "channel",
            "version",
            "status",
            "attempts",
            "next attempt",
            "sent",
            "provider id",
            "error",
        ],
        rows=rows,
        empty="No crew notifications yet.",
    )


def checklist_page_section(model_admin, request, booking) -> SafeString:
    """The booking page's checklist table (one query), unless its formset is being edited."""
    if request.GET.get(EDIT_PARAM, "") == EDIT_CHECKLIST:
        return SafeString("")
    items = list(booking.checklist_items.select_related("done_by").order_by("-phase", "position"))
    done = sum(1 for item in items if item.done_at)
    links = []
    if model_admin.has_change_permission(request, booking):
        query = request.GET.copy()
        query[EDIT_PARAM] = EDIT_CHECKLIST
        links.append((f"?{query.urlencode()}#checklist_items-group", "Edit the checklist items"))
    return history_section(
        "checklist", f"Checklist ({done} of {len(items)} done)", checklist_table(items), links
    )


def notifications_page_section(model_admin, request, booking) -> SafeString:
    """The booking page's newest crew notifications (one query) and a link to the rest."""
    from .models import Notification

    notes = list(
        booking.notifications.select_related("member").order_by("-created_at", "-pk")[
            : NOTIFICATIONS_SHOWN + 1
        ]
    )
    more = len(notes) > NOTIFICATIONS_SHOWN
    notes = notes[:NOTIFICATIONS_SHOWN]
    site = model_admin.admin_site.name
    change = f"{site}:{Notification._meta.app_label}_{Notification._meta.model_name}_change"
    link = admin_list_link(
        model_admin, request, Notification, booking, "All notifications" if more else "As a list"
    )
    return history_section(
        "notifications",
        f"Crew notifications (latest {NOTIFICATIONS_SHOWN})" if more else "Crew notifications",
        notifications_table(notes, change_url=lambda n: reverse(change, args=[n.pk])),
        [link] if link else [],
    )


#: the booking admin's crew operations
CREW_OPS_SECTION = AdminSection(
    key="crew.ops",
    order=30,
    columns=[("checklist_ready", "fanout")],
    displays=[
        checklist_ready,
        crew_last_told_display,
        checklist_progress_display,
        money_summary_display,
        photo_gallery_display,
    ],
    fieldset=(
        "Crew operations",
        [
            "crew_last_told_display",
            "checklist_progress_display",
            "money_summary_display",
            "photo_gallery_display",
        ],
    ),
    page_loaded=page_bookings_loaded,
    page_sections=[(40, checklist_page_section), (60, notifications_page_section)],
)
admin_section_register(Booking, CREW_OPS_SECTION)


class CrewPayRangeForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            if data["end"] < data["start"]:
                raise forms.ValidationError("The end date is before the start date.")
            if (data["end"] - data["start"]).days > 366:
                raise forms.ValidationError("Export at most one year at a time.")
        return data


class ExpenseApprovalMixin:
    """Expense admin: approve entries (members can no longer edit them) and export crew pay."""

    change_list_template = "admin/crew/expense/change_list.html"
    actions = ["approve_expenses"]

    @admin.display(description="approved", boolean=True, ordering="approved_at")
    def approved(self, obj) -> bool:
        return obj.approved_at is not None

    @admin.display(description="receipt")
    def receipt_link(self, obj) -> str:
        if not obj.receipt_key:
            return "—"
        from bookings.photos.models import Photo

        return format_html(
            '<a href="{}" target="_blank" rel="noopener">view</a>',
            photo_view_url(Photo(key=obj.receipt_key)),
        )

    @admin.action(description="Approve selected expenses", permissions=["change"])
    def approve_expenses(self, request, queryset):
        approved = sum(expense_approve(e, actor=request.user) for e in queryset)
        self.message_user(request, f"Approved {approved} expense(s).", messages.SUCCESS)

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "crew-pay/",
                self.admin_site.admin_view(self.crew_pay_view),
                name="{}_{}_crew_pay".format(*info),
            ),
            *super().get_urls(),
        ]

    def crew_pay_view(self, request):
        """Crew pay for a date range: a table, and the same numbers as CSV (``?format=csv``)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        form = CrewPayRangeForm(
            request.GET or None,
            initial={"start": today.replace(day=1), "end": today},
        )
        rows = None
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            if request.GET.get("format") == "csv":
                response = HttpResponse(
                    crew_pay_csv(start, end), content_type="text/csv; charset=utf-8"
                )
                response["Content-Disposition"] = (
                    f'attachment; filename="crew-pay-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}.csv"'
                )
                return response
            rows = crew_pay_rows(start, end)
        return TemplateResponse(
            request,
            "admin/crew/expense/crew_pay.html",
            {
                **self.admin_site.each_context(request),
                "title": "Crew pay summary",
                "opts": self.model._meta,
                "form": form,
                "rows": rows,
                "csv_query": request.GET.urlencode(),
            },
        )
