"""The crew target: every assigned crew member is told about the charter as it is now."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from bookings.models import Booking
from charterops.fanout.targets import SyncResult, TransientError

from .notifications import booking_crew_notify


class CrewTarget:
    """Tells crew (one Notification per member, version and kind) and mirrors to SCC if enabled.

    Done only when the world is: every crew message of the booking is settled (sent,
    superseded, or failed for good). A message retrying, not due yet or held by another
    worker raises ``TransientError`` (with the wait until it is due), so the engine runs the
    target again; "could not claim" is never success. Messages failed for good are listed on
    the target row (``detail["failed_members"]`` and its last error) and told to staff.
    Idempotent: a re-run sends nothing already sent and rewrites no current SCC item.
    """

    name = "crew"
    label = "Crew"
    short = "Crew"

    def sync(self, booking: Booking, *, state: Any) -> SyncResult:
        result = booking_crew_notify(booking)
        detail: dict[str, Any] = result.as_detail()
        if settings.CHARTEROPS_SCC_MIRROR == "dynamodb":
            from .integrations.scc_mirror import booking_scc_mirror

            detail["scc"] = booking_scc_mirror(booking)
        if result.pending:
            raise TransientError(
                f"{result.pending} crew message(s) not sent yet: {result.errors[0]}"[:300],
                retry_after=result.retry_in,
            )
        warning = ""
        if result.failed_members:
            warning = f"Not told (failed for good): {'; '.join(result.failed_members)}"[:300]
        return SyncResult(external_ref=f"v{booking.version}", detail=detail, warning=warning)
