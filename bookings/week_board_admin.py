"""The week board and the Today view on the booking admin (``/admin/bookings/booking/week/``).

Thin: it parses the week (or day), builds the board with ``bookings.week_board``, and lets
the booking admin's own column methods (crew answers, readiness, target badges) render each
card, so the board and the list always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from .models import Booking
from .week_board import Board, board_build, week_start

#: prefetched onto the board's bookings: one query each, whatever the number of charters
BOARD_PREFETCH = ("target_states", "assignments__member")


@dataclass
class Card:
    booking: Booking
    url: str
    time: str
    crew: str
    ready: bool | None
    targets: str

    @property
    def ready_label(self) -> str:
        return {True: "Ready", False: "Not ready", None: "No checklist"}[self.ready]


class WeekBoardAdminMixin:
    """Adds the week board and the Today view to the Booking ModelAdmin."""

    def get_urls(self):
        return [
            path(
                "week/",
                self.admin_site.admin_view(self.week_board_view),
                name="bookings_booking_week",
            ),
            *super().get_urls(),
        ]

    def _card(self, booking: Booking) -> Card:
        ready = getattr(self, "checklist_ready", None)
        start, end = timezone.localtime(booking.start), timezone.localtime(booking.end)
        return Card(
            booking=booking,
            url=reverse("admin:bookings_booking_change", args=[booking.pk]),
            time=f"{start:%H:%M}–{end:%H:%M}",
            crew=self.crew_display(booking),
            ready=ready(booking) if ready else None,
            targets=self.fanout(booking),
        )

    def week_board_view(self, request: HttpRequest) -> HttpResponse:
        """The week (``?week=YYYY-MM-DD``, any day of it) or, with ``?view=today``, one day."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        try:
            day = date.fromisoformat(request.GET.get("day") or request.GET.get("week") or "")
        except ValueError:
            day = today
        dock = request.GET.get("view") == "today"
        board: Board = board_build(
            day if dock else week_start(day),
            days=1 if dock else 7,
            prefetch=BOARD_PREFETCH,
            enrich=getattr(self, "page_bookings_loaded", None),
            today=today,
        )
        cards = {b.pk: self._card(b) for b in board.bookings}
        rows = [
            (
                row.boat,
                [
                    (day, [cards[b.pk] for b in cell])
                    for day, cell in zip(board.days, row.days, strict=True)
                ],
            )
            for row in board.rows
        ]
        by_time = sorted(cards.values(), key=lambda c: (c.booking.start, c.booking.pk))
        return TemplateResponse(
            request,
            "admin/bookings/booking/week_board.html",
            {
                **self.admin_site.each_context(request),
                "title": (
                    f"Today at the dock · {day:%A %B %-d}"
                    if dock
                    else f"Week of {board.first_day:%B %-d, %Y}"
                ),
                "opts": self.model._meta,
                "board": board,
                "rows": rows,
                "cards": by_time,
                "dock": dock,
                "today": today,
                "media": self.media,
                "is_nav_sidebar_enabled": False,  # the board takes the whole width
            },
        )
