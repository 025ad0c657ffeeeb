"""The booking page's histories as compact read-only tables, not formsets of widgets.

The checklist, the fan-out rows and the crew notifications used to be tabular inlines: every
row a form, every cell a widget (or a read-only field wrapper), about 2.8 KiB and ~1 ms of
template work a row. A dispatcher reads them far more often than edits them, so the page
shows them as plain tables (``BookingPageMixin.booking_sections``), each with a link to its
full, filtered list; the checklist's editable formset is one click away (``?edit=checklist``).
Nothing here writes: saves still go through ``BookingAdmin``'s formsets and domain functions.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from charterops.admin import TARGET_LABELS
from charterops.models import AuditEvent, TargetState

#: the booking page shows this many notifications, newest first, and links to the rest
NOTIFICATIONS_SHOWN = 10
#: ``?edit=checklist`` on the booking page brings back the checklist's editable formset
EDIT_PARAM, EDIT_CHECKLIST = "edit", "checklist"


def _when(value) -> str:
    return f"{timezone.localtime(value):%b %-d %Y, %H:%M}" if value else "—"


def _table(*, caption: str, headers: list[str], rows: SafeString, empty: str) -> SafeString:
    if not rows:
        return format_html('<p class="co-history-empty">{}</p>', empty)
    return format_html(
        '<table class="co-history"><caption class="co-sr">{}</caption><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table>",
        caption,
        format_html_join("", '<th scope="col">{}</th>', ((h,) for h in headers)),
        rows,
    )


def _section(key: str, title: str, body: SafeString, links: list[tuple[str, str]]) -> SafeString:
    """A titled module like the admin's own, its heading naming the region."""
    return format_html(
        '<section class="module co-history-section" id="{}-history" aria-labelledby="{}-heading">'
        '<h2 id="{}-heading">{}</h2>{}{}</section>',
        key,
        key,
        key,
        title,
        format_html(
            '<p class="co-history-links">{}</p>',
            format_html_join(" · ", '<a href="{}">{}</a>', links),
        )
        if links
        else "",
        body,
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
                _when(item.done_at),
                item.note,
            )
            for item in items
        ),
    )
    return _table(
        caption="Checklist items",
        headers=["phase", "#", "item", "required", "done by", "done at", "note"],
        rows=rows,
        empty="No checklist items yet.",
    )


def target_states_table(states) -> SafeString:
    rows = format_html_join(
        "",
        '<tr><td>{}</td><td><span class="co-pill co-{}">{}</span></td><td>{} / {}</td>'
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                TARGET_LABELS.get(s.target, s.target),
                s.status,
                s.get_status_display(),
                s.synced_version,
                s.desired_version,
                s.attempts,
                _when(s.next_attempt_at),
                s.last_error,
                s.external_ref,
                _when(s.last_synced_at),
            )
            for s in states
        ),
    )
    return _table(
        caption="Fan-out targets",
        headers=[
            "target",
            "status",
            "synced / desired version",
            "attempts",
            "next attempt",
            "last error",
            "external reference",
            "last synced",
        ],
        rows=rows,
        empty="No fan-out rows yet.",
    )


def notifications_table(notes, *, change_url) -> SafeString:
    rows = format_html_join(
        "",
        '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>v{}</td>'
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                change_url(n),
                _when(n.created_at),
                n.member.name,
                n.get_kind_display(),
                n.get_channel_display(),
                n.booking_version,
                n.get_status_display(),
                n.attempts,
                _when(n.next_attempt_at),
                _when(n.sent_at),
                n.provider_message_id,
                n.error,
            )
            for n in notes
        ),
    )
    return _table(
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


class BookingPageMixin:
    """For ``BookingAdmin``: the histories below the inlines, the checklist formset on demand.

    ``compact_inlines`` are the inlines shown as a table unless the page is opened with
    ``?edit=<key>`` (and always on the add page, where they are empty and cheap).
    """

    change_form_template = "admin/bookings/booking/change_form.html"
    compact_inlines: dict[str, type] = {}

    def _editing(self, request) -> str:
        return request.GET.get(EDIT_PARAM, "")

    def get_inlines(self, request, obj):
        inlines = list(super().get_inlines(request, obj))
        if obj is None:
            return inlines
        hidden = {
            inline for key, inline in self.compact_inlines.items() if key != self._editing(request)
        }
        return [inline for inline in inlines if inline not in hidden]

    def _list_link(self, request, model, booking, text: str) -> tuple[str, str] | None:
        """A link to ``model``'s admin list filtered to this booking, if the user may see it."""
        if not self.admin_site.is_registered(model):
            return None
        if not self.admin_site.get_model_admin(model).has_view_permission(request):
            return None
        opts = model._meta
        try:
            url = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist",
                current_app=self.admin_site.name,
            )
        except NoReverseMatch:
            return None
        return f"{url}?booking__id__exact={booking.pk}", text

    def booking_sections(self, request, booking) -> SafeString:
        """The read-only histories of ``booking``: two queries (checklist, notifications)."""
        sections = []
        editing = self._editing(request)
        if EDIT_CHECKLIST in self.compact_inlines and editing != EDIT_CHECKLIST:
            items = list(
                booking.checklist_items.select_related("done_by").order_by("-phase", "position")
            )
            done = sum(1 for item in items if item.done_at)
            links = []
            if self.has_change_permission(request, booking):
                query = request.GET.copy()
                query[EDIT_PARAM] = EDIT_CHECKLIST
                links.append(
                    (f"?{query.urlencode()}#checklist_items-group", "Edit the checklist items")
                )
            sections.append(
                _section(
                    "checklist",
                    f"Checklist ({done} of {len(items)} done)",
                    checklist_table(items),
                    links,
                )
            )
        states = booking.target_states.all()  # prefetched, in target order, by get_queryset
        sections.append(
            _section(
                "fanout",
                "Fan-out targets",
                target_states_table(states),
                [
                    link
                    for link in (
                        self._list_link(request, TargetState, booking, "All fan-out rows"),
                        self._list_link(request, AuditEvent, booking, "Audit trail"),
                    )
                    if link
                ],
            )
        )
        note_model = booking.notifications.model
        notes = list(
            booking.notifications.select_related("member").order_by("-created_at", "-pk")[
                : NOTIFICATIONS_SHOWN + 1
            ]
        )
        more = len(notes) > NOTIFICATIONS_SHOWN
        notes = notes[:NOTIFICATIONS_SHOWN]
        opts = note_model._meta
        change = f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change"
        link = self._list_link(
            request, note_model, booking, "All notifications" if more else "As a list"
        )
        sections.append(
            _section(
                "notifications",
                f"Crew notifications (latest {NOTIFICATIONS_SHOWN})"
                if more
                else "Crew notifications",
                notifications_table(notes, change_url=lambda n: reverse(change, args=[n.pk])),
                [link] if link else [],
            )
        )
        return format_html_join("", "{}", ((section,) for section in sections))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["booking_sections"] = self.booking_sections(request, obj)
        # As on the booking list: the page takes the whole width, and the sidebar's app list
        # (30-odd models) is not rendered on every visit; the header still links home.
        context["is_nav_sidebar_enabled"] = False
        return super().render_change_form(request, context, add, change, form_url, obj)
