"""Creating and changing bookings: validation, version bump, audit row and fan-out, in one transaction.

Every entry point (admin, webhook, API, CSV import, crew changes) goes through these functions
so that a booking is the same whichever way it came.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from charterops.audit import audit_log
from charterops.fanout.engine import booking_fanout_request

from .models import Booking

Status = Booking.Status


def _material_changes(booking: Booking, changes: dict[str, Any]) -> dict[str, list[Any]]:
    diff = {}
    for field, value in changes.items():
        attr = field if field != "boat" else "boat_id"
        new = value.pk if field == "boat" and value is not None else value
        old = getattr(booking, attr)
        if old != new:
            diff[field] = [_jsonable(old), _jsonable(new)]
    return diff


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def booking_create(*, actor: Any = None, via: str = "admin", **fields: Any) -> Booking:
    """Create a booking from validated fields; it fans out on commit if it is confirmed.

    Raises ``django.core.exceptions.ValidationError`` naming each bad field.
    """
    booking = Booking(**fields)
    _validate(booking)
    with transaction.atomic():
        _save(booking)
        audit_log("bookings.booking.created", booking, actor=actor, data={"via": via})
        booking_fanout_request(booking)
    return booking


def booking_update(
    booking: Booking, *, actor: Any = None, via: str = "admin", **changes: Any
) -> dict[str, list[Any]]:
    """Apply ``changes`` to the booking; a material change bumps its version and re-syncs targets.

    Returns the material changes as {field: [old, new]} (empty when nothing material changed).
    Idempotent: the same changes a second time change nothing and enqueue nothing.
    """
    with transaction.atomic():
        # Lock the booking row only: FOR UPDATE over the join would lock the boat too, and
        # every other booking of that boat would queue behind this one.
        locked = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("boat")
            .get(pk=booking.pk)
        )
        material = {k: v for k, v in changes.items() if k in Booking.MATERIAL_FIELDS or k == "boat"}
        diff = _material_changes(locked, material)
        for field, value in changes.items():
            setattr(locked, field, value)
        _validate(locked)
        if diff:
            locked.version = locked.version + 1
        _save(locked)
        if diff:
            action = "bookings.booking.updated"
            if "status" in diff:
                action = f"bookings.booking.{locked.status}"
            audit_log(action, locked, actor=actor, data={"via": via, "changes": diff})
            booking_fanout_request(locked)
    _copy_into(locked, booking)
    return diff


def booking_cancel(
    booking: Booking, *, actor: Any = None, via: str = "admin", reason: str = ""
) -> bool:
    """Cancel the booking and unwind every target. Returns False if it was already cancelled."""
    if booking.status == Status.CANCELLED:
        return False
    booking_update(booking, actor=actor, via=via, status=Status.CANCELLED)
    if reason:
        audit_log("bookings.booking.cancel_reason", booking, actor=actor, data={"reason": reason})
    return True


def booking_touch(
    booking: Booking, *, reason: str, actor: Any = None, data: dict[str, Any] | None = None
) -> int:
    """Bump the version for a change held outside the booking row (crew changed) and re-sync.

    Must run inside the caller's transaction. Returns the new version.
    """
    Booking.objects.filter(pk=booking.pk).update(version=F("version") + 1)
    booking.refresh_from_db(fields=["version"])
    audit_log(f"bookings.booking.{reason}", booking, actor=actor, data=data or {})
    booking_fanout_request(booking)
    return booking.version


def _validate(booking: Booking) -> None:
    """Field and business rules in Python; uniqueness and constraints are left to the database
    (each would cost a query here) and come back from ``_save`` as a ValidationError."""
    booking.full_clean(validate_unique=False, validate_constraints=False)


def _save(booking: Booking) -> None:
    try:
        with transaction.atomic():
            booking.save()
    except IntegrityError as exc:
        if "external_id" in str(exc) or "booking_unique_external_id" in str(exc):
            raise ValidationError(
                {"external_id": "A booking with this source and external id exists."}
            ) from exc
        raise ValidationError(f"The booking was refused by the database: {exc}") from exc


def _copy_into(source: Booking, target: Booking) -> None:
    if source is target:
        return
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
