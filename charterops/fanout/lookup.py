"""Finding a booking from what an operator types: a primary key or ``source:external_id``."""

from __future__ import annotations

from django.core.management.base import CommandError

from bookings.models import Booking


def booking_lookup(ref: str) -> Booking:
    """``42`` or ``boatsetter:BS-4821937``; raises CommandError with what was not found."""
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


def target_states_report(booking: Booking) -> dict:
    """The booking's fan-out rows as plain data (what the admin shows)."""
    return {
        "booking": booking.pk,
        "reference": booking.reference,
        "status": booking.status,
        "version": booking.version,
        "targets": [
            {
                "target": s.target,
                "status": s.status,
                "synced_version": s.synced_version,
                "desired_version": s.desired_version,
                "attempts": s.attempts,
                "last_error": s.last_error,
                "external_ref": s.external_ref,
                "next_attempt_at": s.next_attempt_at.isoformat() if s.next_attempt_at else None,
                "last_synced_at": s.last_synced_at.isoformat() if s.last_synced_at else None,
            }
            for s in booking.target_states.order_by("target")
        ],
    }
