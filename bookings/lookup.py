"""Finding a booking from what an operator types: a primary key or ``source:external_id``."""

from __future__ import annotations

from django.core.management.base import CommandError

from .models import Booking


def booking_lookup(ref: str) -> Booking:
    """``42``, ``boatsetter:BS-4821937`` or ``BS-4821937`` (any source); its boat loaded.

    Reads only. Raises CommandError saying what was not found, for a management command to
    print as it is.
    """
    query = Booking.objects.select_related("boat")
    if ref.isdigit():
        booking = query.filter(pk=int(ref)).first()
    elif ":" in ref:
        source, external_id = ref.split(":", 1)
        booking = query.filter(source=source, external_id=external_id).first()
    else:
        booking = query.filter(external_id=ref).first()
    if booking is None:
        raise CommandError(f"No booking {ref!r} (give its id or source:external_id).")
    return booking
