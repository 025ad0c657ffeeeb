"""The crew target: every assigned crew member is told about the charter as it is now."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from bookings.models import Booking
from charterops.fanout.targets import SyncResult, TransientError

from .notifications import booking_crew_notify


class CrewTarget:
    """Tells crew (one Notification per member, version and kind) and mirrors to SCC if enabled.

    Idempotent: a re-run sends nothing already sent and rewrites no current SCC item. When a
    send failed transiently the rows stay queued and ``TransientError`` makes the engine
    retry; the retry sends only those rows. Permanent send failures (bad address) fail the
    notification row, not the target: staff see them on the booking and the member.
    """

    name = "crew"

    def sync(self, booking: Booking, *, state: Any) -> SyncResult:
        result = booking_crew_notify(booking)
        detail: dict[str, Any] = result.as_detail()
        if settings.CHARTEROPS_SCC_MIRROR == "dynamodb":
            from .integrations.scc_mirror import booking_scc_mirror

            detail["scc"] = booking_scc_mirror(booking)
        if result.queued:
            raise TransientError(
                f"{result.queued} crew message(s) not sent yet: {result.errors[0]}"
            )
        return SyncResult(external_ref=f"v{booking.version}", detail=detail)
