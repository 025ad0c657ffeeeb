"""The booking page's histories as compact read-only tables, not formsets of widgets.

The checklist, the fan-out rows and the crew notifications used to be tabular inlines: every
row a form, every cell a widget (or a read-only field wrapper), about 2.8 KiB and ~1 ms of
template work a row. A dispatcher reads them far more often than edits them, so the page
shows them as plain tables (``BookingPageMixin.booking_sections``), each with a link to its
full, filtered list. The fan-out table is the hub's own; the other apps contribute theirs
(crew: the checklist and the notifications) as ``page_sections`` of an ``AdminSection``
(``bookings.admin_sections``), and a contributed ``compact_inlines`` formset is one click
away (``?edit=<key>``). Nothing here writes: saves still go through ``BookingAdmin``'s
formsets and domain functions.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from charterops.fanout.targets import target_label
from charterops.models import AuditEvent, TargetState

#: where the hub's fan-out table sits among the contributed ``page_sections``
FANOUT_SECTION_POSITION = 50


def history_when(value) -> str:
    return f"{timezone.localtime(value):%b %-d %Y, %H:%M}" if value else "—"


def history_table(*, caption: str, headers: list[str], rows: SafeString, empty: str) -> SafeString:
    if not rows:
        return format_html('<p class="co-history-empty">{}</p>', empty)
    return format_html(
        '<table class="co-history"><caption class="co-sr">{}</caption><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table>",
        caption,
        format_html_join("", '<th scope="col">{}</th>', ((h,) for h in headers)),
        rows,
    )


def history_section(
    key: str, title: str, body: SafeString, links: list[tuple[str, str]]
) -> SafeString:
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


def target_states_table(states) -> SafeString:
    rows = format_html_join(
        "",
        '<tr><td>{}</td><td><span class="co-pill co-{}">{}</span></td><td>{} / {}</td>'
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                target_label(s.target),
                s.status,
                s.get_status_display(),
                s.synced_version,
                s.desired_version,
                s.attempts,
                history_when(s.next_attempt_at),
                s.last_error,
                s.external_ref,
                history_when(s.last_synced_at),
            )
            for s in states
        ),
    )
    return history_table(
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


def admin_list_link(model_admin, request, model, booking, text: str) -> tuple[str, str] | None:
    """A link to ``model``'s admin list filtered to ``booking``, if the user may see it."""
    site = model_admin.admin_site
    if not site.is_registered(model):
        return None
    if not site.get_model_admin(model).has_view_permission(request):
        return None
    opts = model._meta
    try:
        url = reverse(
            f"{site.name}:{opts.app_label}_{opts.model_name}_changelist", current_app=site.name
        )
    except NoReverseMatch:
        return None
    return f"{url}?booking__id__exact={booking.pk}", text


class BookingPageMixin:
    """For ``BookingAdmin``: the histories below the inlines (its own and the contributed)."""

    change_form_template = "admin/bookings/booking/change_form.html"

    def fanout_section(self, request, booking) -> SafeString:
        states = booking.target_states.all()  # prefetched, in target order, by get_queryset
        links = (
            admin_list_link(self, request, TargetState, booking, "All fan-out rows"),
            admin_list_link(self, request, AuditEvent, booking, "Audit trail"),
        )
        return history_section(
            "fanout",
            "Fan-out targets",
            target_states_table(states),
            [link for link in links if link],
        )

    def booking_sections(self, request, booking) -> SafeString:
        """The read-only histories of ``booking``: the fan-out rows (prefetched) and the
        sections other apps contribute (crew: checklist, notifications; one query each)."""
        sections = [(FANOUT_SECTION_POSITION, self.fanout_section(request, booking))]
        sections += self.contributed_page_sections(request, booking)
        sections.sort(key=lambda pair: pair[0])
        return format_html_join("", "{}", ((html,) for _, html in sections if html))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["booking_sections"] = self.booking_sections(request, obj)
        # As on the booking list: the page takes the whole width, and the sidebar's app list
        # (30-odd models) is not rendered on every visit; the header still links home.
        context["is_nav_sidebar_enabled"] = False
        return super().render_change_form(request, context, add, change, form_url, obj)
