"""Creating and changing bookings: validation, version bump, audit row and fan-out, in one transaction.

Every entry point (admin, webhook, API, CSV import, crew changes) goes through these functions
so that a booking is the same whichever way it came.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from charterops.audit import audit_batch, audit_log
from charterops.fanout.engine import booking_fanout_request

from .double_booking import (
    booking_overlaps,
    booking_overlaps_refresh,
    bookings_created_overlaps_refresh,
)
from .models import Boat, Booking

Status = Booking.Status
#: bookkeeping of the intake, never a change a person made
BOOKKEEPING = ("last_event_at", "last_event_id")
#: the fields whose change may start or end a double booking of a boat
_OVERLAP_FIELDS = {"boat", "start", "end", "status"}
#: work done on rows beside the booking (crew) in the same transaction; returns what changed
Also = Callable[[Booking], dict[str, Any]]
#: inside ``bookings_batch``: the bookings it created (their INSERTs take no savepoint)
_batch: ContextVar[list[Booking] | None] = ContextVar("bookings_batch", default=None)


@contextmanager
def bookings_batch() -> Iterator[None]:
    """A block of many booking changes that rolls back whole on any error; cheaper per change.

    For the webhook worker's optimistic batch (``bookings.intake.webhook``): inside the
    block a booking INSERT takes no savepoint (two round trips per booking), so a refused
    INSERT (a racing create of the same booking) aborts the whole transaction instead of
    turning into an update, and the audit rows of the changes are written together as the
    block ends (``charterops.audit.audit_batch``), as are the double-booking flags of the
    bookings it created (``bookings_created_overlaps_refresh``). The caller must not catch
    errors inside it, and reruns the work carefully, outside such a block, when it fails.
    Not re-entrant.
    """
    created: list[Booking] = []
    token = _batch.set(created)
    try:
        with audit_batch():
            yield
            bookings_created_overlaps_refresh(created)
    finally:
        _batch.reset(token)


def _changes(booking: Booking, changes: dict[str, Any]) -> dict[str, list[Any]]:
    """Every field whose value changes, as {field: [old, new]} (money and all)."""
    diff = {}
    for field, value in changes.items():
        if field in BOOKKEEPING:
            continue
        if field == "boat":
            attr, new = "boat_id", value.pk if value is not None else None
        else:
            # "950.00" and Decimal("950.00") are the same price: compare as the field stores it
            attr, new = field, Booking._meta.get_field(field).to_python(value)
        old = getattr(booking, attr)
        if old != new:
            diff[field] = [_jsonable(old), _jsonable(new)]
    return diff


def _is_material(diff: dict[str, Any]) -> bool:
    return any(f in Booking.MATERIAL_FIELDS or f == "boat" for f in diff)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def booking_create(
    *, actor: Any = None, via: str = "admin", also: Also | None = None, **fields: Any
) -> Booking:
    """Create a booking from validated fields; it fans out on commit if it is confirmed.

    ``also`` runs after the insert, in the same transaction (the SCC API's crew list); what it
    returns goes into the one ``bookings.booking.created`` audit row. Raises
    ``django.core.exceptions.ValidationError`` naming each bad field.
    """
    booking = Booking(**fields)
    _validate(booking, boat_loaded=_is_loaded(fields.get("boat")))
    # No savepoint of its own (a round trip each way, per booking, on the intake's hot path):
    # _save keeps one for the unique check, and on any error the caller's block rolls back.
    refused: ValidationError | None = None
    with transaction.atomic(savepoint=False):
        try:
            _save(booking)
        except ValidationError as exc:
            # Raised through this block it would doom the caller's whole transaction (a
            # block without a savepoint cannot undo itself); _save's own savepoint already
            # undid the INSERT, so the caller may go on (the intake turns a racing create
            # into an update). Raised once the block is left.
            refused = exc
        else:
            extra = also(booking) if also else {}
            batch = _batch.get()
            if batch is None:
                booking_overlaps_refresh(booking)
            else:
                batch.append(booking)  # flagged with the batch's others as it ends
            audit_log(
                "bookings.booking.created",
                booking,
                actor=actor,
                data={"via": via, **({"also": extra} if extra else {})},
            )
            booking_fanout_request(booking, new=True)
    if refused is not None:
        raise refused
    return booking


def booking_update(
    booking: Booking,
    *,
    actor: Any = None,
    via: str = "admin",
    reason: str = "",
    also: Also | None = None,
    **changes: Any,
) -> dict[str, list[Any]]:
    """Apply ``changes`` (and ``also``) to the booking: one version bump, one audit row at most.

    Every changed field is audited with its old and new values, money included; the row
    says whether the change was *material* (it bumps the version and re-syncs the targets)
    and carries ``reason`` (a cancellation's). ``also`` runs under the booking's lock in the
    same transaction; a non-empty result counts as a material change (crew changed).
    Returns {field: [old, new]} (empty: nothing changed). Idempotent: the same changes a
    second time change nothing, write no row and enqueue nothing.
    """
    with transaction.atomic():
        # Lock the booking row only: FOR UPDATE over the join would lock the boat too, and
        # every other booking of that boat would queue behind this one.
        locked = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("boat")
            .get(pk=booking.pk)
        )
        diff = _changes(locked, changes)
        overlapped = (
            set(booking_overlaps(locked).values_list("pk", flat=True))
            if _OVERLAP_FIELDS & diff.keys()
            else set()
        )
        for field, value in changes.items():
            setattr(locked, field, value)
        _validate(locked, boat_loaded="boat" not in changes or _is_loaded(changes["boat"]))
        extra = also(locked) if also else {}
        material = _is_material(diff) or bool(extra)
        if material:
            locked.version = locked.version + 1
        if diff or extra or any(f in BOOKKEEPING for f in changes):
            _save(locked)
        if diff or extra:
            action = "bookings.booking.updated"
            if "status" in diff:
                action = f"bookings.booking.{locked.status}"
            data: dict[str, Any] = {"via": via, "changes": diff, "material": material}
            if extra:
                data["also"] = extra
            if reason:
                data["reason"] = reason
            audit_log(action, locked, actor=actor, data=data)
        if _OVERLAP_FIELDS & diff.keys():
            booking_overlaps_refresh(locked, before=overlapped)
        if material:
            booking_fanout_request(locked)
    _copy_into(locked, booking)
    return {**diff, **({"also": extra} if extra else {})}


def booking_cancel(
    booking: Booking, *, actor: Any = None, via: str = "admin", reason: str = ""
) -> bool:
    """Cancel the booking and unwind every target: one audit row, with the reason.

    Returns False (and writes nothing) if it was already cancelled.
    """
    if booking.status == Status.CANCELLED:
        return False
    return bool(
        booking_update(booking, actor=actor, via=via, reason=reason, status=Status.CANCELLED)
    )


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


def _validate(booking: Booking, *, boat_loaded: bool = False) -> None:
    """Field and business rules in Python; uniqueness and constraints are left to the database
    (each would cost a query here) and come back from ``_save`` as a ValidationError.

    ``boat_loaded``: the boat is a row read from the database (the intake's ``boat_resolve``,
    the locked booking's own boat), so the query that checks it exists is skipped; the
    foreign key still refuses a boat deleted since, through ``_save``.
    """
    booking.full_clean(
        exclude=["boat"] if boat_loaded else None, validate_unique=False, validate_constraints=False
    )


def _is_loaded(boat: Any) -> bool:
    return isinstance(boat, Boat) and boat.pk is not None and not boat._state.adding


def _save(booking: Booking) -> None:
    if _batch.get() is not None:
        booking.save()  # refused: the whole batch fails, and its caller reruns it carefully
        return
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
