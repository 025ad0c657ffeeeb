"""The one upsert: a booking snapshot from any source becomes a booking, in one transaction.

The last snapshot wins whatever the order its events arrive in: an applied event of any
type, a cancellation included, applies its whole snapshot; an event ordered before the last
one applied to the booking (by ``occurred_at``, then by event id for the same instant) is
``stale`` and changes nothing. The final state of a booking is therefore a function of the
set of its events, not of their order (``tests/bookings/test_intake_order.py`` proves it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q

from ..models import Boat, Booking
from ..services import Also, booking_create, booking_update
from .boats import boat_resolve
from .schema import BookingIn, InvalidPayload

Status = Booking.Status
#: inside ``bookings_locked``: (source, external id) -> the locked booking, None if none was
_known: ContextVar[dict[tuple[str, str], Booking | None] | None] = ContextVar(
    "bookings_locked", default=None
)


@dataclass(frozen=True)
class IntakeResult:
    booking: Booking
    outcome: str  # created | updated | unchanged | cancelled | stale
    changes: dict[str, Any] | None = None


#: model field -> payload path, to report model validation errors where the caller put them.
FIELD_PATHS = {
    "boat": "booking.boat",
    "external_id": "booking.id",
    "guest_name": "booking.guest.name",
    "guest_email": "booking.guest.email",
    "guest_phone": "booking.guest.phone",
    "currency": "booking.pricing.currency",
    "boat_price": "booking.pricing.boat_price",
    "service_fee": "booking.pricing.service_fee",
    "captain_fee": "booking.pricing.captain_fee",
    "owner_payout": "booking.pricing.owner_payout",
    "__all__": "booking",
}


def model_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if not hasattr(exc, "error_dict"):
        return {"booking": list(exc.messages)}
    return {
        FIELD_PATHS.get(field, f"booking.{field}"): list(DjangoValidationError(errs).messages)
        for field, errs in exc.error_dict.items()
    }


def booking_fields(payload: BookingIn, boat: Boat) -> dict[str, Any]:
    """The model fields of a snapshot (``respond_by`` only when the source carries it)."""
    fields = {
        "status": payload.status,
        "boat": boat,
        "start": payload.start,
        "end": payload.end,
        "meeting_point": payload.meeting_point,
        "guest_name": payload.guest.name,
        "guest_email": payload.guest.email,
        "guest_phone": payload.guest.phone,
        "party_size": payload.party_size,
        "captain_required": payload.captain_required,
        "special_requests": payload.special_requests,
        "currency": payload.pricing.currency,
        "boat_price": payload.pricing.boat_price,
        "service_fee": payload.pricing.service_fee,
        "captain_fee": payload.pricing.captain_fee,
        "owner_payout": payload.pricing.owner_payout,
    }
    # Most sources never mention a deadline: their snapshots must not erase one an email gave.
    if "respond_by" in payload.model_fields_set:
        fields["respond_by"] = payload.respond_by
    return fields


def _is_stale(booking: Booking, occurred_at: datetime | None, event_id: str) -> bool:
    """Whether (occurred_at, event_id) is ordered at or before the last event applied."""
    if occurred_at is None or booking.last_event_at is None:
        return False
    if occurred_at != booking.last_event_at:
        return occurred_at < booking.last_event_at
    return event_id <= booking.last_event_id


def booking_upsert_from_event(
    source: str,
    payload: BookingIn,
    *,
    actor: Any = None,
    occurred_at: datetime | None = None,
    event_id: str = "",
    via: str,
    event_type: str = "booking.updated",
    keep: Collection[str] = (),
    also: Also | None = None,
) -> IntakeResult:
    """Create or update the booking ``payload`` describes, in the caller's transaction.

    The booking is found by (``source``, ``payload.id``) and locked (its row only). An event
    (``occurred_at``, ``event_id``) ordered before the last one applied is *stale*: nothing
    changes. Otherwise the whole snapshot is applied, a ``booking.cancelled`` event as a
    snapshot whose status is cancelled, through ``bookings.services``: one version bump and
    one audit row, whatever changed. ``keep`` names model fields the source does not carry
    (left as they are); ``also`` runs under the same lock (the SCC API's crew list).
    Idempotent: the same payload twice changes nothing and enqueues nothing the second
    time. Raises InvalidPayload (no active boat, model rules such as the boat's capacity)
    naming each field; nothing is written then. Safe under a concurrent create of the same
    booking: the loser of the unique constraint becomes an update.
    """
    boat = boat_resolve(payload.boat)
    fields = {k: v for k, v in booking_fields(payload, boat).items() if k not in keep}
    if event_type == "booking.cancelled":
        fields["status"] = Status.CANCELLED
    stamp = {"last_event_at": occurred_at, "last_event_id": event_id} if occurred_at else {}
    reason = f"{source}: {event_type}" if fields.get("status") == Status.CANCELLED else ""
    try:
        # No savepoint of its own: on any error the caller's transaction rolls back whole.
        with transaction.atomic(savepoint=False):
            booking = _locked(source, payload.id)
            if booking is None:
                created = _create(source, payload.id, {**fields, **stamp}, actor, via, also)
                known = _known.get()
                if created is not None:
                    if known is not None:
                        known[source, payload.id] = created
                    return IntakeResult(created, "created")
                if known is not None:
                    known.pop((source, payload.id), None)  # created by another: look again
                booking = _locked(source, payload.id)
            if _is_stale(booking, occurred_at, event_id):
                return IntakeResult(booking, "stale")
            was_cancelled = booking.status == Status.CANCELLED
            diff = booking_update(
                booking, actor=actor, via=via, reason=reason, also=also, **fields, **stamp
            )
    except DjangoValidationError as exc:
        raise InvalidPayload(model_errors(exc)) from None
    if not diff:
        return IntakeResult(booking, "unchanged", diff)
    cancelled = booking.status == Status.CANCELLED and not was_cancelled
    return IntakeResult(booking, "cancelled" if cancelled else "updated", diff)


@contextmanager
def bookings_locked(keys: Iterable[tuple[str, str]]) -> Iterator[None]:
    """Lock the bookings named by (source, external id) in ONE query, for the upserts inside.

    For a worker's batch of events, in its transaction: each upsert of the block then finds
    its booking (or learns there was none, and creates it) without a query of its own. The
    rows are locked in id order, so two batches lock their common bookings in one order.
    A booking created inside the block is remembered for the next event of it.
    """
    by_source: dict[str, set[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, set()).add(external_id)
    if not by_source:
        yield
        return
    match = Q()
    for source, ids in by_source.items():
        match |= Q(source=source, external_id__in=sorted(ids))
    known: dict[tuple[str, str], Booking | None] = dict.fromkeys(
        ((s, e) for s, ids in by_source.items() for e in ids), None
    )
    for booking in Booking.objects.select_for_update(of=("self",)).filter(match).order_by("pk"):
        known[booking.source, booking.external_id] = booking
    token = _known.set(known)
    try:
        yield
    finally:
        _known.reset(token)


def _locked(source: str, external_id: str) -> Booking | None:
    known = _known.get()
    if known is not None and (source, external_id) in known:
        return known[source, external_id]
    # Lock the booking row only: FOR UPDATE over a join would also lock the boat, and every
    # other booking of that boat (their inserts take a key-share lock on it) would queue.
    return (
        Booking.objects.select_for_update(of=("self",))
        .filter(source=source, external_id=external_id)
        .first()
    )


def _create(
    source: str,
    external_id: str,
    fields: dict[str, Any],
    actor: Any,
    via: str,
    also: Also | None,
) -> Booking | None:
    """Create the booking; None when a concurrent request created it first (then update it).

    No savepoint of its own: the INSERT has one (``services._save``), which turns the
    unique violation of a racing create into a ValidationError with the connection still
    usable; any other error rolls back the caller's block whole.
    """
    try:
        return booking_create(
            actor=actor, via=via, also=also, source=source, external_id=external_id, **fields
        )
    except DjangoValidationError as exc:
        # The unique constraint comes back from _save as a ValidationError: a racing create.
        if Booking.objects.filter(source=source, external_id=external_id).exists():
            return None
        raise exc
