"""Booking intake: every way a booking comes in from outside maps onto one schema and one upsert."""

from .upsert import (
    EVENT_TYPES,
    BoatRef,
    BookingIn,
    EventIn,
    IntakeResult,
    InvalidPayload,
    MalformedBody,
    ParsedEvent,
    boat_resolve,
    booking_payload_parse,
    booking_payload_precheck,
    booking_upsert_from_event,
    event_parse,
    pydantic_errors,
)

__all__ = [
    "EVENT_TYPES",
    "BoatRef",
    "BookingIn",
    "EventIn",
    "IntakeResult",
    "InvalidPayload",
    "MalformedBody",
    "ParsedEvent",
    "boat_resolve",
    "booking_payload_parse",
    "booking_payload_precheck",
    "booking_upsert_from_event",
    "event_parse",
    "pydantic_errors",
]
