"""The intake schema: ``BookingIn`` (one booking's whole snapshot) and the event envelope.

Every source maps its wire format onto these models. They refuse at the door everything the
database or the model would refuse later (NUL and lone surrogates, over-long text, dates
outside the years a charter can have, JSON nested beyond ``MAX_DEPTH``), so an event that
parses can be stored and applied: a ``202 accepted`` is never a promise that cannot be kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from pydantic import (
    AfterValidator,
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

EVENT_TYPES = ("booking.created", "booking.updated", "booking.cancelled")
#: deeper JSON than this is refused before validation (the schema itself is 3 levels deep)
MAX_DEPTH = 32
#: the years a charter may start or end in; beyond them a date is a typo (or an overflow)
YEARS = (2000, 2100)
#: characters PostgreSQL text cannot hold (NUL) or UTF-8 cannot encode (lone surrogates)
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: str) -> str:
    found = UNSTORABLE.search(value)
    if found:
        raise ValueError(
            f"contains a character that cannot be stored (U+{ord(found.group()):04X}) "
            f"at position {found.start()}"
        )
    return value


def _text(max_length: int, *, min_length: int = 0) -> Any:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_storable),
    ]


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str | datetime):
        raise ValueError(
            "expected an ISO 8601 date-time with an offset, e.g. 2026-12-05T10:00:00-08:00"
        )
    return value


def _plausible(value: datetime) -> datetime:
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"the year must be between {YEARS[0]} and {YEARS[1]}")
    return value


#: ISO 8601 text with an offset; numbers (epoch seconds) are refused, the contract says text.
IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_plausible)]

Money = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]


class _Strict(BaseModel):
    # Marketplaces add fields over time; unknown ones are ignored, known ones are checked.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class BoatRef(_Strict):
    """The boat as the source names it: matched by external id first, then by name."""

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
    """One booking's whole snapshot: the ``booking`` object of every source."""

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
    respond_by: IsoDatetime | None = Field(
        default=None,
        description=(
            "The marketplace's deadline to answer a request, if it gives one. Omitted: the "
            "booking keeps what it had; null: none (the marketplace rules' window applies)."
        ),
    )

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
        description=(
            "When the change happened at the source. An event older than the last one applied "
            "to its booking is stale; events of the same instant are ordered by their id."
        )
    )
    booking: BookingIn


class _Envelope(_Strict):
    id: _text(120, min_length=1)
    type: _text(60, min_length=1)
    occurred_at: IsoDatetime
    booking: Any = None


class MalformedBody(Exception):
    """The body is not a JSON object, or is nested too deeply (answered 400)."""


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


def pydantic_errors(exc: PydanticValidationError, *, prefix: str = "") -> dict[str, list[str]]:
    """Flatten pydantic's errors into {"booking.guest.name": ["Field required"]}."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        parts = [str(p) for p in error["loc"] if not str(p).startswith("function-after")]
        path = ".".join(filter(None, [prefix, *parts])) or (prefix or "body")
        message = error["msg"].removeprefix("Value error, ")
        errors.setdefault(path, []).append(message)
    return errors


def local_time_text(value: Any) -> Any:
    """A time without an offset is Pacific (the business's clock): give it the offset.

    For sources that drop offsets (spreadsheets, the SCC API); anything that is not an ISO
    date-time is returned as is for the schema to report with its field's name.
    """
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if timezone.is_naive(parsed):
        try:
            parsed = timezone.make_aware(parsed)
        except (OverflowError, ValueError):
            return value
    return parsed.isoformat()


def json_depth_check(data: Any, *, limit: int = MAX_DEPTH) -> None:
    """Raise MalformedBody if ``data`` nests objects/arrays deeper than ``limit`` (iterative)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                raise MalformedBody(f"body is nested more than {limit} levels deep")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)


def json_load(body: bytes | str) -> Any:
    """Decode a JSON body for intake: MalformedBody for bad JSON or nesting beyond MAX_DEPTH."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise MalformedBody(f"body is nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from None
    json_depth_check(data)
    return data


def event_parse(body: bytes | str) -> ParsedEvent:
    """Parse a webhook body. Raises MalformedBody (not a JSON object) or InvalidPayload (fields)."""
    data = json_load(body)
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
