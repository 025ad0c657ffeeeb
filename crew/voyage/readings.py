"""A boat's readings over time, from its charters' records, and whether a service is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bookings.models import Boat

from .models import BoatUpkeep, VoyageRecord
from .records import boat_local


@dataclass(frozen=True)
class Reading:
    """One charter's readings, in the boat's time zone."""

    booking_id: int
    reference: str
    when: datetime
    engine_hours_out: Decimal | None
    engine_hours_in: Decimal | None
    fuel_out: Decimal | None
    fuel_in: Decimal | None
    fuel_suffix: str
    crossed_service: bool

    @property
    def hours_run(self) -> Decimal | None:
        if self.engine_hours_in is None or self.engine_hours_out is None:
            return None
        return self.engine_hours_in - self.engine_hours_out


@dataclass(frozen=True)
class ServiceStatus:
    due: bool
    latest: Decimal | None
    next_due: Decimal | None
    message: str


def _upkeep(boat: Boat) -> BoatUpkeep:
    return BoatUpkeep.objects.filter(boat=boat).first() or BoatUpkeep(boat=boat)


def _latest(record: VoyageRecord) -> Decimal | None:
    return record.engine_hours_in if record.engine_hours_in is not None else record.engine_hours_out


def boat_readings(boat: Boat, *, limit: int = 50) -> list[Reading]:
    """The boat's last ``limit`` recorded charters, latest first (two queries).

    A row is marked when its reading is the first at or past the next service (the last
    service's hours plus the boat's interval).
    """
    upkeep = _upkeep(boat)
    records = list(
        VoyageRecord.objects.filter(boat=boat, departed_at__isnull=False)
        .select_related("booking")
        .order_by("-booking__start")[:limit]
    )
    threshold = _next_due(upkeep)
    crossed_id = None
    if threshold is not None:
        for record in reversed(records):  # oldest first: the first one to reach it
            latest = _latest(record)
            if latest is not None and latest >= threshold:
                crossed_id = record.pk
                break
    return [
        Reading(
            booking_id=r.booking_id,
            reference=r.booking.reference,
            when=boat_local(r.departed_at, boat),
            engine_hours_out=r.engine_hours_out,
            engine_hours_in=r.engine_hours_in,
            fuel_out=r.fuel_out,
            fuel_in=r.fuel_in,
            fuel_suffix=upkeep.fuel_suffix,
            crossed_service=r.pk == crossed_id,
        )
        for r in records
    ]


def _next_due(upkeep: BoatUpkeep) -> Decimal | None:
    if not upkeep.service_interval_hours:
        return None
    return upkeep.last_service_engine_hours + upkeep.service_interval_hours


def boat_service_status(boat: Boat) -> ServiceStatus:
    """Whether the boat's engine hours reached its next service (two queries)."""
    upkeep = _upkeep(boat)
    record = (
        VoyageRecord.objects.filter(boat=boat, departed_at__isnull=False)
        .order_by("-booking__start")
        .first()
    )
    latest = _latest(record) if record else None
    next_due = _next_due(upkeep)
    if next_due is None:
        message = "No service interval set for this boat."
        return ServiceStatus(False, latest, None, message)
    if latest is not None and latest >= next_due:
        over = latest - next_due
        message = (
            f"Service due: engine hours {latest.normalize():f} reached the service at "
            f"{next_due.normalize():f} h (every {upkeep.service_interval_hours.normalize():f} h"
            f"{f', {over.normalize():f} h over' if over else ''}). After the service, set "
            "'last service engine hours'."
        )
        return ServiceStatus(True, latest, next_due, message)
    left = next_due - (latest or upkeep.last_service_engine_hours)
    message = (
        f"Next service at {next_due.normalize():f} engine hours ({left.normalize():f} h to go)."
    )
    return ServiceStatus(False, latest, next_due, message)
