"""The dispatcher's week board and the dock's day: charters laid out by boat and day.

A board is built from three reads whatever the number of charters: the active boats, the
week's bookings (with their boat), and what the caller prefetches onto them (crew, target
rows, checklist counts) through ``Prefetch`` objects and an ``enrich`` hook, so the hub
never imports its spokes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .models import Boat, Booking

DAYS = 7


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


@dataclass
class BoardRow:
    boat: Boat | None
    #: one list of bookings per day of the board, in start order
    days: list[list[Booking]] = field(default_factory=list)


@dataclass
class Board:
    first_day: date
    days: list[date]
    rows: list[BoardRow]
    today: date

    @property
    def previous(self) -> date:
        return self.first_day - timedelta(days=len(self.days))

    @property
    def next(self) -> date:
        return self.first_day + timedelta(days=len(self.days))

    @property
    def bookings(self) -> list[Booking]:
        return [b for row in self.rows for day in row.days for b in day]


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def board_bookings(first_day: date, days: int) -> QuerySet[Booking]:
    """Charters starting on local dates ``first_day`` .. ``first_day + days - 1``, not ended."""
    lo, hi = _local_midnight(first_day), _local_midnight(first_day + timedelta(days=days))
    return (
        Booking.objects.filter(start__gte=lo, start__lt=hi)
        .exclude(status__in=Booking.ENDED_STATUSES)
        .select_related("boat")
        .order_by("start", "pk")
    )


def board_build(
    first_day: date,
    *,
    days: int = DAYS,
    prefetch: Iterable[str | Prefetch] = (),
    enrich: Callable[[list[Booking]], object] | None = None,
    today: date | None = None,
) -> Board:
    """The board of ``days`` days from ``first_day``: active boats down, days across. Read-only.

    Boats with no charter on the board still get their (empty) row, so a dispatcher sees
    which boat is free; a charter on an inactive boat adds that boat's row.
    """
    today = today or timezone.localdate()
    dates = [first_day + timedelta(days=n) for n in range(days)]
    bookings = list(board_bookings(first_day, days).prefetch_related(*prefetch))
    if enrich is not None:
        enrich(bookings)
    boats = {b.pk: b for b in Boat.objects.filter(active=True)}
    for booking in bookings:
        boats.setdefault(booking.boat_id, booking.boat)
    rows = {pk: BoardRow(boat=boat, days=[[] for _ in dates]) for pk, boat in boats.items()}
    for booking in bookings:
        index = (timezone.localtime(booking.start).date() - first_day).days
        rows[booking.boat_id].days[index].append(booking)
    ordered = sorted(rows.values(), key=lambda r: r.boat.name.lower())
    return Board(first_day=first_day, days=dates, rows=ordered, today=today)
