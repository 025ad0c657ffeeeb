"""Booking intake: the one way a marketplace event, an API call or a CSV row becomes a booking.

The webhook, the JSON API and the CSV import all parse the same ``booking`` object with
:func:`booking_payload_parse` and apply it with :func:`booking_upsert_from_event`, which goes
through ``bookings.services`` (validation, version bump, audit row, fan-out on commit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from ..models import Boat, Booking
from ..services import booking_cancel, booking_create, booking_update

Status = Booking.Status
EVENT_TYPES = ("booking.created", "booking.updated", "booking.cancelled")


def _text(max_length: int, *, min_length: int = 0) -> Any:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
    ]


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str | datetime):
        raise ValueError(
            "expected an ISO 8601 date-time with an offset, e.g. 2026-12-05T10:00:00-08:00"
        )
    return value


#: ISO 8601 text with an offset; numbers (epoch seconds) are refused, the contract says text.
IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]

Money = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]


class _Strict(BaseModel):
    # Marketplaces add fields over time; unknown ones are ignored, known ones are checked.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class BoatRef(_Strict):
    """The boat as the marketplace names it: matched by external id first, then by name."""

    id: _text(64) = ""
    name: _text(120) = ""

    @model_validator(mode="after")
    def _one_of(self) -> BoatRef:
        if not self.id and not self.name:
            raise ValueError("give the boat's id or its name")
        return self


class GuestIn(_Strict):
    name: _text(200, min_length=1)
    email: _text(254) = ""
    phone: _text(40) = ""

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value:
            try:
                validate_email(value)
            except DjangoValidationError:
                raise ValueError("not a valid email address") from None
        return value.lower()


class PricingIn(_Strict):
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    boat_price: Money = Decimal("0.00")
    service_fee: Money = Decimal("0.00")
    captain_fee: Money = Decimal("0.00")
    owner_payout: Money = Decimal("0.00")


class BookingIn(_Strict):
    """The ``booking`` object shared by the webhook, the API and the CSV import."""

    id: _text(64, min_length=1) = Field(
        description="The booking's id at its source, e.g. BS-4821937."
    )
    status: Literal[
        "inquiry", "pending", "confirmed", "in_progress", "completed", "cancelled", "expired"
    ]
    boat: BoatRef
    start: IsoDatetime
    end: IsoDatetime
    meeting_point: _text(300) = ""
    guest: GuestIn
    party_size: StrictInt = Field(ge=1, le=500)
    captain_required: StrictBool = True
    special_requests: _text(5000) = ""
    pricing: PricingIn = Field(default_factory=PricingIn)

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError("the charter must end after it starts")
        return end


class EventIn(_Strict):
    """A signed marketplace event as posted to ``/webhooks/bookings/<source>/``."""

    id: _text(120, min_length=1) = Field(description="Unique per event; used to drop duplicates.")
    type: _text(60, min_length=1) = Field(
        description="booking.created, booking.updated or booking.cancelled; others are ignored."
    )
    occurred_at: IsoDatetime = Field(
        description="When the change happened at the source; older events than the last applied are stale."
    )
    booking: BookingIn


class _Envelope(_Strict):
    id: _text(120, min_length=1)
    type: _text(60, min_length=1)
    occurred_at: IsoDatetime
    booking: Any = None


class MalformedBody(Exception):
    """The body is not a JSON object (answered 400)."""


class InvalidPayload(Exception):
    """The payload breaks the schema or a business rule; ``errors`` names each field (422)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ParsedEvent:
    id: str
    type: str
    occurred_at: datetime
    booking: BookingIn | None  # None when the type is one we ignore

    @property
    def known(self) -> bool:
        return self.type in EVENT_TYPES


@dataclass(frozen=True)
class IntakeResult:
    booking: Booking
    outcome: str  # created | updated | unchanged | cancelled | stale


def pydantic_errors(exc: PydanticValidationError, *, prefix: str = "") -> dict[str, list[str]]:
    """Flatten pydantic's errors into {"booking.guest.name": ["Field required"]}."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        parts = [str(p) for p in error["loc"] if not str(p).startswith("function-after")]
        path = ".".join(filter(None, [prefix, *parts])) or (prefix or "body")
        message = error["msg"].removeprefix("Value error, ")
        errors.setdefault(path, []).append(message)
    return errors


def event_parse(body: bytes | str) -> ParsedEvent:
    """Parse a webhook body. Raises MalformedBody (not a JSON object) or InvalidPayload (fields)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedBody("body must be a JSON object")
    try:
        envelope = _Envelope.model_validate(data)
    except PydanticValidationError as exc:
        raise InvalidPayload(pydantic_errors(exc)) from None
    if envelope.type not in EVENT_TYPES:
        return ParsedEvent(envelope.id, envelope.type, envelope.occurred_at, None)
    if envelope.booking is None:
        raise InvalidPayload({"booking": ["Field required"]})
    return ParsedEvent(
        envelope.id,
        envelope.type,
        envelope.occurred_at,
        booking_payload_parse(envelope.booking),
    )


def booking_payload_parse(data: Any, *, prefix: str = "booking") -> BookingIn:
    """Validate one ``booking`` object; raises InvalidPayload naming each bad field."""
    if not isinstance(data, dict):
        raise InvalidPayload({prefix: ["must be a JSON object"]})
    try:
        return BookingIn.model_validate(data)
    except PydanticValidationError as exc:
        raise InvalidPayload(pydantic_errors(exc, prefix=prefix)) from None


def boat_resolve(ref: BoatRef) -> Boat:
    """The boat named by the payload: by external id first, then by name (case-insensitive).

    Raises InvalidPayload naming the boat when neither matches.
    """
    if ref.id:
        boat = Boat.objects.filter(external_id=ref.id).first()
        if boat is not None:
            return boat
    if ref.name:
        boat = Boat.objects.filter(name__iexact=ref.name).first()
        if boat is not None:
            return boat
    raise unknown_boat(ref)


def unknown_boat(ref: BoatRef) -> InvalidPayload:
    named = " / ".join(
        filter(None, [f"id {ref.id!r}" if ref.id else "", repr(ref.name) if ref.name else ""])
    )
    return InvalidPayload({"booking.boat": [f"unknown boat {named}: add it in the admin first"]})


def booking_payload_precheck(payload: BookingIn) -> None:
    """The boat rules the webhook answers while the sender waits, without a query.

    Checks the boat exists and carries the party against the per-process fleet index; the
    worker applying the event checks everything again against the database
    (``booking_upsert_from_event``). Raises InvalidPayload like the full checks do.
    """
    from .boats import boat_index

    boat = boat_index.find(payload.boat.id, payload.boat.name)
    if boat is None:
        raise unknown_boat(payload.boat)
    if payload.party_size > boat.capacity:
        raise InvalidPayload(
            {
                "booking.party_size": [
                    Booking.capacity_message(boat.name, boat.capacity, payload.party_size)
                ]
            }
        )


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


def booking_source(source: str) -> str:
    """The Booking.source for an intake source name: known ones as is, the rest "other"."""
    return source if source in Booking.Source.values else Booking.Source.OTHER


def _fields(payload: BookingIn, boat: Boat) -> dict[str, Any]:
    return {
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


def booking_upsert_from_event(
    source: str,
    payload: BookingIn,
    *,
    actor: Any = None,
    occurred_at: datetime | None = None,
    via: str,
    event_type: str = "booking.updated",
) -> IntakeResult:
    """Create or update the booking ``payload`` describes, in one transaction.

    The booking is found by (source, external id) and locked. An event that ``occurred_at``
    before the last one applied to the booking is *stale*: nothing changes. A
    ``booking.cancelled`` event (or a cancelled status) cancels through ``booking_cancel``.
    Idempotent: applying the same payload twice changes nothing and enqueues nothing the
    second time. Raises InvalidPayload (unknown boat, model rules such as the boat's
    capacity) naming each field; nothing is written then. Safe under a concurrent create
    of the same booking: the loser of the unique constraint becomes an update.
    """
    boat = boat_resolve(payload.boat)
    fields = _fields(payload, boat)
    kind = booking_source(source)
    cancel = event_type == "booking.cancelled" or payload.status == Status.CANCELLED
    try:
        # No savepoint of its own: on any error the caller's transaction rolls back whole.
        with transaction.atomic(savepoint=False):
            booking = _locked(kind, payload.id)
            if booking is None:
                created = _create(kind, payload.id, fields, cancel, actor, via, occurred_at)
                if created is not None:
                    return IntakeResult(created, "created")
                booking = _locked(kind, payload.id)
            if occurred_at and booking.last_event_at and occurred_at < booking.last_event_at:
                return IntakeResult(booking, "stale")
            stamp = {"last_event_at": occurred_at} if occurred_at else {}
            if cancel:
                if stamp:
                    booking_update(booking, actor=actor, via=via, **stamp)
                done = booking_cancel(
                    booking, actor=actor, via=via, reason=f"{source}: {event_type}"
                )
                return IntakeResult(booking, "cancelled" if done else "unchanged")
            diff = booking_update(booking, actor=actor, via=via, **fields, **stamp)
            return IntakeResult(booking, "updated" if diff else "unchanged")
    except DjangoValidationError as exc:
        raise InvalidPayload(model_errors(exc)) from None


def _locked(kind: str, external_id: str) -> Booking | None:
    # Lock the booking row only: FOR UPDATE over a join would also lock the boat, and every
    # other booking of that boat (their inserts take a key-share lock on it) would queue.
    return (
        Booking.objects.select_for_update(of=("self",))
        .filter(source=kind, external_id=external_id)
        .first()
    )


def _create(
    kind: str,
    external_id: str,
    fields: dict[str, Any],
    cancel: bool,
    actor: Any,
    via: str,
    occurred_at: datetime | None,
) -> Booking | None:
    """Create the booking; None when a concurrent request created it first (then update it)."""
    if cancel:
        # A cancellation that arrives first is kept, so a late "created" cannot resurrect it.
        fields = {**fields, "status": Status.CANCELLED}
    try:
        with transaction.atomic():
            return booking_create(
                actor=actor,
                via=via,
                source=kind,
                external_id=external_id,
                last_event_at=occurred_at,
                **fields,
            )
    except IntegrityError:
        return None
    except DjangoValidationError as exc:
        # full_clean checks the unique constraint too: a racing create shows up here.
        if Booking.objects.filter(source=kind, external_id=external_id).exists():
            return None
        raise exc
