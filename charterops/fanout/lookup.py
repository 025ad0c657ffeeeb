"""Finding a booking from what an operator types: a primary key or ``source:external_id``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from bookings.models import Booking
from charterops.models import TargetState


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


def target_state_data(state: TargetState) -> dict[str, Any]:
    """One fan-out row as plain data: what the admin, the CLI and the API show of it."""
    return {
        "target": state.target,
        "status": state.status,
        "synced_version": state.synced_version,
        "desired_version": state.desired_version,
        "attempts": state.attempts,
        "last_error": state.last_error,
        "external_ref": state.external_ref,
        "next_attempt_at": state.next_attempt_at,
        "last_synced_at": state.last_synced_at,
    }


def target_states_report(booking: Booking) -> dict[str, Any]:
    """The booking's fan-out rows as plain data (datetimes as objects: encode them for JSON)."""
    return {
        "booking": booking.pk,
        "reference": booking.reference,
        "status": booking.status,
        "version": booking.version,
        "targets": [target_state_data(s) for s in booking.target_states.order_by("target")],
    }
