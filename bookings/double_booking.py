"""Boat double booking: two live bookings of one boat that overlap in time.

It is a fact to handle, not an input to refuse: a marketplace may sell a slot we already
sold, and the intake applies it all the same. What changes is that staff see it: the
booking's ``double_booked`` flag is kept true for every live booking that overlaps another
live booking of its boat, recomputed in the transaction of each change, and shown as a
warning on the booking's admin page, a badge in the list and the list's "double-booked"
filter (the attention list).
"""

from __future__ import annotations

import operator
from functools import reduce

from django.db.models import Q, QuerySet

from .models import Booking


def booking_overlaps(booking: Booking) -> QuerySet[Booking]:
    """The other live bookings of the booking's boat that overlap it in time (none if it is
    not live itself)."""
    if not booking.is_live or not booking.boat_id:
        return Booking.objects.none()
    return (
        Booking.objects.filter(
            boat_id=booking.boat_id,
            status__in=Booking.LIVE_STATUSES,
            start__lt=booking.end,
            end__gt=booking.start,
        )
        .exclude(pk=booking.pk)
        .order_by("start", "pk")
    )


def booking_overlaps_refresh(booking: Booking, *, before: set[int] = frozenset()) -> set[int]:
    """Recompute ``double_booked`` for the booking, what it overlaps now and what it
    overlapped ``before`` the change (ids); returns the ids it overlaps now.

    Run inside the change's transaction; idempotent (flags only follow the bookings' times,
    boats and statuses). Writes only flags that change.
    """
    now = set(booking_overlaps(booking).values_list("pk", flat=True))
    flagged = bool(now)
    if booking.double_booked != flagged:
        Booking.objects.filter(pk=booking.pk).update(double_booked=flagged)
        booking.double_booked = flagged
    if now:
        Booking.objects.filter(pk__in=now, double_booked=False).update(double_booked=True)
    for pk in before - now:
        other = Booking.objects.filter(pk=pk).first()
        if other is not None:
            still = booking_overlaps(other).exists()
            if other.double_booked != still:
                Booking.objects.filter(pk=pk).update(double_booked=still)
    return now


def bookings_created_overlaps_refresh(bookings: list[Booking]) -> set[int]:
    """``booking_overlaps_refresh`` for bookings created in this transaction, all at once:
    one query for their boats (however many bookings) and at most one UPDATE.

    For a batch that creates many bookings (the webhook worker's). Each booking is judged
    as it is now, so one changed since its creation (by ``booking_update``, which keeps the
    flags itself) is judged by its last state. New bookings only: no flag is cleared, as
    none was set on their account. Returns the ids flagged.
    """
    live = [b for b in bookings if b.is_live and b.boat_id]
    if not live:
        return set()
    by_boat: dict[int, list[Booking]] = {}
    for booking in live:
        by_boat.setdefault(booking.boat_id, []).append(booking)
    # per boat, one condition on its bookings' times: one index scan of the boat's bookings
    match = reduce(
        operator.or_,
        (
            Q(boat_id=boat_id)
            & reduce(operator.or_, (Q(start__lt=b.end, end__gt=b.start) for b in created))
            for boat_id, created in by_boat.items()
        ),
    )
    rows = list(
        Booking.objects.filter(match, status__in=Booking.LIVE_STATUSES).values_list(
            "pk", "boat_id", "start", "end"
        )
    )
    flagged: set[int] = set()
    for booking in live:
        overlaps = {
            pk
            for pk, boat_id, start, end in rows
            if pk != booking.pk
            and boat_id == booking.boat_id
            and start < booking.end
            and end > booking.start
        }
        if overlaps:
            flagged |= overlaps | {booking.pk}
    if flagged:
        Booking.objects.filter(pk__in=flagged, double_booked=False).update(double_booked=True)
    for booking in bookings:
        if booking.pk in flagged:
            booking.double_booked = True
    return flagged
