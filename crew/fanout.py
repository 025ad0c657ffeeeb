"""The crew target: every assigned crew member is told about the charter as it is now."""

from __future__ import annotations

from bookings.models import Booking
from charterops.fanout.targets import SyncResult

from .notifications import booking_crew_notify


class CrewTarget:
    """Writes one Notification per (member, version, kind) before sending; a re-run sends nothing."""

    name = "crew"

    def sync(self, booking: Booking, *, state) -> SyncResult:
        sent = booking_crew_notify(booking)
        return SyncResult(external_ref=f"v{booking.version}", detail={"notified": sent})
