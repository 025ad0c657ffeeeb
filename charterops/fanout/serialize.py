"""A booking's fan-out rows as plain data: what the admin, the CLI and the API show of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from charterops.models import TargetState

    from .targets import FanoutBooking


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


def target_states_report(booking: FanoutBooking) -> dict[str, Any]:
    """The booking's fan-out rows as plain data (datetimes as objects: encode them for JSON)."""
    return {
        "booking": booking.pk,
        "reference": booking.reference,
        "status": booking.status,
        "version": booking.version,
        "targets": [target_state_data(s) for s in booking.target_states.order_by("target")],
    }
