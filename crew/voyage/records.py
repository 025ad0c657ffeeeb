"""Recording a charter's departure and return from the crew page, and correcting them.

Each record (departure, return, or a correction of either) is one transaction with one audit
row. The readings are checked against the boat's other charters under a lock on the boat's
upkeep row, so two charters of one boat recorded at the same moment cannot both slip an
engine-hour reading below the other. Once the return is in, every change adds a new
version of the record PDF (``crew.voyage.documents``) and never replaces an old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from bookings.models import Boat, Booking
from bookings.photos.models import Photo
from charterops.audit import audit_log

from ..models import CrewAssignment
from .models import BoatUpkeep, VoyagePhoto, VoyageRecord

NOTES_MAX = 2000
DEFAULT_ZONE = "America/Los_Angeles"
TENTH = Decimal("0.1")


class RecordRefused(Exception):
    """This member may not record this charter now; the message is shown to them."""


@dataclass(frozen=True)
class EngineHourBounds:
    """The readings a record of this charter must lie between (None: no bound)."""

    low: Decimal | None
    high: Decimal | None


def boat_upkeep(boat: Boat) -> BoatUpkeep:
    """The boat's upkeep row, created with the defaults (Pacific time, percent) when missing."""
    upkeep, _ = BoatUpkeep.objects.get_or_create(boat=boat)
    return upkeep


def boat_zone(boat: Boat) -> ZoneInfo:
    """The time zone the boat's records are shown in (Pacific when none is set)."""
    try:
        return ZoneInfo(boat.upkeep.time_zone)
    except BoatUpkeep.DoesNotExist:
        return ZoneInfo(DEFAULT_ZONE)


def boat_local(moment: datetime | None, boat: Boat) -> datetime | None:
    """``moment`` (UTC) on the boat's clock."""
    return moment.astimezone(boat_zone(boat)) if moment else None


def voyage_expected_headcount(booking: Booking) -> int:
    """Guests expected aboard: the manifest's count where one exists, else the party size.

    There is no guest manifest yet; when there is, its count goes here.
    """
    return booking.party_size


def voyage_record_of(booking: Booking) -> VoyageRecord | None:
    """The charter's record, if anything was recorded yet."""
    return VoyageRecord.objects.filter(booking=booking).first()


def engine_hour_bounds(booking: Booking, *, boat: Boat | None = None) -> EngineHourBounds:
    """Highest reading of the boat's earlier charters and lowest of its later ones.

    Engine hours never go down across a boat's charters, ordered by charter start.
    """
    boat = boat or booking.boat
    others = VoyageRecord.objects.filter(boat=boat).exclude(booking=booking)
    earlier = others.filter(booking__start__lt=booking.start).aggregate(
        out=Max("engine_hours_out"), back=Max("engine_hours_in")
    )
    later = others.filter(booking__start__gt=booking.start).aggregate(
        out=Min("engine_hours_out"), back=Min("engine_hours_in")
    )
    # SQLite hands back aggregates of decimals as floats' digits; keep one decimal place.
    lows = [Decimal(str(v)).quantize(TENTH) for v in earlier.values() if v is not None]
    highs = [Decimal(str(v)).quantize(TENTH) for v in later.values() if v is not None]
    return EngineHourBounds(low=max(lows) if lows else None, high=min(highs) if highs else None)


def parse_reading(raw: Any, *, field: str, label: str) -> Decimal:
    """A reading typed on a phone ("12.5", "12,5") as a Decimal, or a ValidationError."""
    text = str(raw if raw is not None else "").strip().replace(",", ".").rstrip("%").strip()
    if not text:
        raise ValidationError({field: f"Enter the {label}."})
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError({field: f"The {label} must be a number, like 12.5."}) from None
    if not value.is_finite():
        raise ValidationError({field: f"The {label} must be a number, like 12.5."})
    return value.quantize(TENTH)


def _check_fuel(value: Decimal, upkeep: BoatUpkeep, field: str) -> None:
    if value < 0 or value > upkeep.fuel_max:
        unit = "gallons" if upkeep.fuel_suffix.strip() == "gal" else "%"
        raise ValidationError(
            {field: f"Fuel must be between 0 and {upkeep.fuel_max.normalize():f} {unit}."}
        )


def _check_hours(
    value: Decimal, bounds: EngineHourBounds, field: str, *, floor: Decimal | None = None
) -> None:
    if value < 0:
        raise ValidationError({field: "Engine hours cannot be negative."})
    if floor is not None and value < floor:
        raise ValidationError(
            {field: f"Engine hours cannot go down: they were {floor} at departure."}
        )
    if bounds.low is not None and value < bounds.low:
        raise ValidationError(
            {
                field: f"Engine hours cannot go down: this boat already logged {bounds.low} "
                "on an earlier charter."
            }
        )
    if bounds.high is not None and value > bounds.high:
        raise ValidationError(
            {
                field: f"This reading is above the {bounds.high} logged on a later charter "
                "of this boat; check the number."
            }
        )


def _check_notes(text: str, field: str) -> str:
    text = (text or "").strip()
    if len(text) > NOTES_MAX:
        raise ValidationError({field: f"Keep notes under {NOTES_MAX} characters."})
    return text


def _check_member(assignment: CrewAssignment) -> None:
    booking = assignment.booking
    if booking.is_ended:
        raise RecordRefused("This charter was cancelled.")
    if assignment.response == CrewAssignment.Response.DECLINED:
        raise RecordRefused("You declined this charter.")


def _locked(booking: Booking) -> tuple[VoyageRecord, BoatUpkeep]:
    """Lock the boat's upkeep row (serialises readings per boat), then get the record."""
    boat_upkeep(booking.boat)
    upkeep = BoatUpkeep.objects.select_for_update(of=("self",)).get(boat=booking.boat_id)
    record, _ = VoyageRecord.objects.get_or_create(booking=booking, defaults={"boat": booking.boat})
    record = VoyageRecord.objects.select_for_update(of=("self",)).get(pk=record.pk)
    return record, upkeep


def _tag(record: VoyageRecord, photos: list[Photo], stage: str) -> None:
    for photo in photos:
        VoyagePhoto.objects.get_or_create(photo=photo, defaults={"record": record, "stage": stage})


def voyage_departure_clean(
    booking: Booking,
    *,
    fuel: Any,
    engine_hours: Any,
    headcount: Any,
    orientation_given: bool,
    condition: str = "",
) -> dict[str, Any]:
    """Check a departure without saving it: the cleaned values, or a ValidationError per field."""
    upkeep = BoatUpkeep.objects.filter(boat=booking.boat_id).first() or BoatUpkeep()
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def collect(name: str, fn) -> None:
        try:
            values[name] = fn()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)

    collect("fuel_out", lambda: _fuel(fuel, upkeep, "fuel_out"))
    collect(
        "engine_hours_out",
        lambda: _hours(engine_hours, engine_hour_bounds(booking), "engine_hours_out"),
    )
    collect("headcount", lambda: _headcount(headcount, booking))
    collect("condition_out", lambda: _check_notes(condition, "condition_out"))
    if not orientation_given:
        errors.setdefault("orientation_given", []).append(
            "Give the safety orientation before getting underway, then tick it."
        )
    if errors:
        raise ValidationError(errors)
    values["orientation_given"] = True
    return values


def _fuel(raw: Any, upkeep: BoatUpkeep, field: str) -> Decimal:
    value = parse_reading(raw, field=field, label="fuel level")
    _check_fuel(value, upkeep, field)
    return value


def _hours(
    raw: Any, bounds: EngineHourBounds, field: str, *, floor: Decimal | None = None
) -> Decimal:
    value = parse_reading(raw, field=field, label="engine hours")
    _check_hours(value, bounds, field, floor=floor)
    return value


def _headcount(raw: Any, booking: Booking) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationError({"headcount": "Enter how many guests are aboard."}) from None
    if value < 1:
        raise ValidationError({"headcount": "At least one guest must be aboard to depart."})
    if value > booking.boat.capacity:
        raise ValidationError(
            {
                "headcount": f"{booking.boat} may carry at most {booking.boat.capacity} guests; "
                "do not depart with more."
            }
        )
    return value


def voyage_departure_record(
    assignment: CrewAssignment,
    *,
    fuel: Any,
    engine_hours: Any,
    headcount: Any,
    orientation_given: bool,
    condition: str = "",
    photos: list[Photo] = (),  # type: ignore[assignment]
    actor: Any = None,
) -> VoyageRecord:
    """Record (or correct) the departure. One transaction, one audit row.

    The server's clock sets ``departed_at`` the first time; a correction keeps it. Raises
    ``RecordRefused`` (cancelled, declined) or ``ValidationError`` (readings, orientation).
    Not idempotent: a second call is recorded as a correction.
    """
    _check_member(assignment)
    booking = assignment.booking
    with transaction.atomic():
        record, _ = _locked(booking)
        values = voyage_departure_clean(
            booking,
            fuel=fuel,
            engine_hours=engine_hours,
            headcount=headcount,
            orientation_given=orientation_given,
            condition=condition,
        )
        if record.engine_hours_in is not None and values["engine_hours_out"] > (
            record.engine_hours_in
        ):
            raise ValidationError(
                {
                    "engine_hours_out": "Departure engine hours cannot be above the "
                    f"{record.engine_hours_in} logged at return."
                }
            )
        correction = record.departed
        before = _snapshot(record)
        for name, value in values.items():
            setattr(record, name, value)
        record.boat = booking.boat
        record.headcount_expected = voyage_expected_headcount(booking)
        if not correction:
            record.departed_at = timezone.now()
            record.departed_by = assignment.member
        record.save()
        _tag(record, list(photos), VoyagePhoto.Stage.DEPARTURE)
        audit_log(
            "crew.voyage.departure_corrected" if correction else "crew.voyage.departed",
            record,
            actor=actor,
            booking=booking,
            data={
                "member": assignment.member_id,
                "changes": _diff(before, _snapshot(record)),
                "photos": len(photos),
            },
        )
        if record.returned:
            _new_document(record, reason="departure corrected")
    return record


def voyage_return_clean(
    booking: Booking,
    *,
    fuel: Any,
    engine_hours: Any,
    condition: str = "",
    damage: bool = False,
    damage_notes: str = "",
    record: VoyageRecord | None = None,
    upkeep: BoatUpkeep | None = None,
) -> dict[str, Any]:
    """Check a return without saving it: the cleaned values, or a ValidationError per field."""
    record = record or voyage_record_of(booking)
    if record is None or not record.departed:
        raise RecordRefused("Record the departure first.")
    upkeep = upkeep or BoatUpkeep.objects.filter(boat=booking.boat_id).first() or BoatUpkeep()
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    checks = {
        "fuel_in": lambda: _fuel(fuel, upkeep, "fuel_in"),
        "engine_hours_in": lambda: _hours(
            engine_hours,
            engine_hour_bounds(booking),
            "engine_hours_in",
            floor=record.engine_hours_out,
        ),
        "condition_in": lambda: _check_notes(condition, "condition_in"),
        "damage_notes": lambda: _check_notes(damage_notes, "damage_notes"),
    }
    for name, check in checks.items():
        try:
            values[name] = check()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if damage and not values.get("damage_notes") and "damage_notes" not in errors:
        errors["damage_notes"] = ["Describe the damage: what, where, how it happened."]
    if errors:
        raise ValidationError(errors)
    values["damage"] = bool(damage)
    return values


def voyage_return_record(
    assignment: CrewAssignment,
    *,
    fuel: Any,
    engine_hours: Any,
    condition: str = "",
    damage: bool = False,
    damage_notes: str = "",
    photos: list[Photo] = (),  # type: ignore[assignment]
    actor: Any = None,
) -> VoyageRecord:
    """Record (or correct) the return; queues a new version of the record PDF.

    ``returned_at`` (time back) is the server's clock at the first return. Damage needs
    notes. One transaction, one audit row, one new ``VoyageDocument`` rendered on commit.
    """
    _check_member(assignment)
    booking = assignment.booking
    with transaction.atomic():
        record, upkeep = _locked(booking)
        if not record.departed:
            raise RecordRefused("Record the departure first.")
        values = voyage_return_clean(
            booking,
            record=record,
            upkeep=upkeep,
            fuel=fuel,
            engine_hours=engine_hours,
            condition=condition,
            damage=damage,
            damage_notes=damage_notes,
        )
        correction = record.returned
        before = _snapshot(record)
        for name, value in values.items():
            setattr(record, name, value)
        if not correction:
            record.returned_at = timezone.now()
            record.returned_by = assignment.member
        record.save()
        _tag(record, list(photos), VoyagePhoto.Stage.RETURN)
        audit_log(
            "crew.voyage.return_corrected" if correction else "crew.voyage.returned",
            record,
            actor=actor,
            booking=booking,
            data={
                "member": assignment.member_id,
                "damage": record.damage,
                "changes": _diff(before, _snapshot(record)),
                "photos": len(photos),
            },
        )
        _new_document(record, reason="return corrected" if correction else "return recorded")
    return record


_SNAPSHOT_FIELDS = (
    "fuel_out",
    "engine_hours_out",
    "headcount",
    "orientation_given",
    "condition_out",
    "fuel_in",
    "engine_hours_in",
    "condition_in",
    "damage",
    "damage_notes",
)


def _snapshot(record: VoyageRecord) -> dict[str, Any]:
    return {
        f: (str(v) if isinstance(v, Decimal) else v)
        for f in _SNAPSHOT_FIELDS
        for v in [getattr(record, f)]
    }


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before[k], after[k]] for k in after if before[k] != after[k]}


def _new_document(record: VoyageRecord, *, reason: str) -> None:
    from .documents import voyage_document_queue

    voyage_document_queue(record, reason=reason)
