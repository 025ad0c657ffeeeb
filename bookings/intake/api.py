"""The JSON API as an intake source: ``POST /api/bookings/?source=<source>`` (see bookings/api.py).

Its wire format is the schema itself (``BookingIn``); this module checks the body the API
parser hands over (JSON, depth, ``application/json``) and applies it through the one upsert
under the caller's source, in the request's outermost transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja.parser import Parser

from charterops.audit import SourceActor

from .schema import BookingIn, MalformedBody, json_load
from .sources import source_check
from .upsert import IntakeResult, booking_upsert_from_event


class UnsupportedMediaType(Exception):
    """The body is not ``application/json`` (answered 415)."""


class IntakeParser(Parser):
    """The API's body parser: JSON only, nesting bounded (never a RecursionError)."""

    def parse_body(self, request: HttpRequest) -> Any:
        if request.content_type != "application/json":
            raise UnsupportedMediaType(
                f"the body must be application/json, not {request.content_type or 'untyped'}"
            )
        return json_load(request.body)


def api_booking_receive(source: str, payload: BookingIn, *, token_name: str) -> IntakeResult:
    """Create or update the booking (``source``, ``payload.id``) for an API caller.

    One durable transaction (the request's outermost one). Raises InvalidPayload naming
    ``source`` when the source is not configured, or the fields the upsert refused.
    Idempotent, as the upsert is.
    """
    source_check(source)
    with transaction.atomic(durable=True):
        return booking_upsert_from_event(
            source, payload, actor=SourceActor(f"api:{token_name}"), via="api"
        )


__all__ = ["IntakeParser", "MalformedBody", "UnsupportedMediaType", "api_booking_receive"]
