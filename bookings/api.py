"""The JSON API for internal tools at ``/api/`` (django-ninja), with its OpenAPI document.

Every operation needs an ``X-Dashboard-Token`` (see ``bookings.tokens``). ``POST
/api/bookings/`` takes the same ``booking`` object as the webhook and goes through the same
domain function, so a booking is the same whichever way it came.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader
from pydantic import BeforeValidator

from charterops.fanout.serialize import target_state_data
from charterops.models import TargetState

from .intake import BookingIn, EventIn, InvalidPayload, MalformedBody
from .intake.api import IntakeParser, UnsupportedMediaType, api_booking_receive
from .models import Booking
from .signatures import SIGNATURE_HEADER
from .tokens import TokenRefused, api_token_verify

TOKEN_HEADER = "X-Dashboard-Token"
MAX_LIST = 500
log = logging.getLogger(__name__)


class DashboardToken(APIKeyHeader):
    """``X-Dashboard-Token``: a missing, unknown, expired or revoked token is a 401 with a reason."""

    param_name = TOKEN_HEADER

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return api_token_verify(key)


class IntakeAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):  # type: ignore[override]
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        webhook_openapi_add(schema)
        return schema


api = IntakeAPI(
    title="CharterOps",
    version="1",
    description="Bookings for internal tools, and the signed marketplace webhook.",
    urls_namespace="api",
    openapi_url="/schema/",
    docs_url=None,  # the bundled docs page loads its assets from a CDN unless "ninja" is an app
    auth=DashboardToken(),
    parser=IntakeParser(),
)


# Every answer of the API is JSON {"error": ..., "fields"?: ...}, never an HTML page.
@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja wraps what the body parser raised into "Cannot parse request body" (400)
    cause = exc.__cause__
    if isinstance(cause, UnsupportedMediaType):
        return api.create_response(request, {"error": str(cause)}, status=415)
    if isinstance(cause, MalformedBody):
        return api.create_response(request, {"error": str(cause)}, status=400)
    return api.create_response(request, {"error": str(exc)}, status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"error": "not found"}, status=404)


@api.exception_handler(Exception)
def _internal_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("API request %s %s failed", request.method, request.path)
    return api.create_response(request, {"error": "internal error"}, status=500)


@api.exception_handler(TokenRefused)
def _token_refused(request: HttpRequest, exc: TokenRefused) -> HttpResponse:
    return api.create_response(request, {"error": exc.reason}, status=401)


@api.exception_handler(NinjaValidationError)
def _invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(p) for p in error.get("loc", ())]
        if loc[:1] == ["body"]:
            loc = ["booking", *loc[2:]]
        elif loc[:1] in (["query"], ["path"]):
            loc = loc[2:] if loc[1:2] == ["window"] else loc[1:]
        path = ".".join(p for p in loc if not p.startswith("function-after")) or "body"
        fields.setdefault(path, []).append(str(error.get("msg", "")).removeprefix("Value error, "))
    return api.create_response(request, {"error": "invalid request", "fields": fields}, status=422)


class ErrorOut(Schema):
    error: str
    fields: dict[str, list[str]] = Field(default_factory=dict)


class BoatOut(Schema):
    id: str
    name: str


class GuestOut(Schema):
    name: str
    email: str
    phone: str


class PricingOut(Schema):
    currency: str
    boat_price: Decimal
    service_fee: Decimal
    captain_fee: Decimal
    owner_payout: Decimal


class TargetStateOut(Schema):
    target: str
    status: str
    synced_version: int
    desired_version: int
    attempts: int
    last_error: str
    external_ref: str
    last_synced_at: datetime | None


class BookingOut(Schema):
    id: int
    external_id: str
    source: str
    status: str
    version: int
    boat: BoatOut
    start: datetime
    end: datetime
    meeting_point: str
    guest: GuestOut
    party_size: int
    captain_required: bool
    special_requests: str
    pricing: PricingOut
    last_event_at: datetime | None
    updated_at: datetime


class BookingDetailOut(BookingOut):
    fanout: list[TargetStateOut]


class BookingWriteOut(Schema):
    status: str = Field(description="created, updated, unchanged or cancelled")
    booking: BookingDetailOut


def booking_out(booking: Booking, *, fanout: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": booking.pk,
        "external_id": booking.external_id,
        "source": booking.source,
        "status": booking.status,
        "version": booking.version,
        "boat": {"id": booking.boat.external_id, "name": booking.boat.name},
        "start": booking.start,
        "end": booking.end,
        "meeting_point": booking.meeting_point,
        "guest": {
            "name": booking.guest_name,
            "email": booking.guest_email,
            "phone": booking.guest_phone,
        },
        "party_size": booking.party_size,
        "captain_required": booking.captain_required,
        "special_requests": booking.special_requests,
        "pricing": {
            "currency": booking.currency,
            "boat_price": booking.boat_price,
            "service_fee": booking.service_fee,
            "captain_fee": booking.captain_fee,
            "owner_payout": booking.owner_payout,
        },
        "last_event_at": booking.last_event_at,
        "updated_at": booking.updated_at,
    }
    if fanout:
        data["fanout"] = [target_state_data(s) for s in booking.target_states.all()]
    return data


def _with_states():
    return Booking.objects.select_related("boat").prefetch_related(
        Prefetch("target_states", queryset=TargetState.objects.order_by("target"))
    )


#: the answers every operation may give besides its own
ERRORS: dict[int, Any] = {401: ErrorOut, 422: ErrorOut, 429: ErrorOut}  # 429: charterops.ratelimits
BODY_ERRORS: dict[int, Any] = {**ERRORS, 400: ErrorOut, 415: ErrorOut}


@api.post(
    "/bookings/",
    response={200: BookingWriteOut, 201: BookingWriteOut, **BODY_ERRORS},
    summary="Create or update a booking",
    tags=["bookings"],
)
def booking_post(
    request: HttpRequest,
    payload: BookingIn,
    source: str = Query(
        "direct",
        max_length=20,
        description="Whose id booking.id is: a configured source (direct, boatsetter, ...).",
    ),
):
    """Create the booking, or update the one with the same source and id (201 / 200).

    ``source`` (query) says whose id ``booking.id`` is: ``direct`` by default, ``boatsetter``
    for a relayed marketplace booking, so it meets the one the webhook created. A source
    that is not configured is refused (422 naming ``source``). The body must be
    ``application/json`` (415 otherwise).
    """
    try:
        result = api_booking_receive(source, payload, token_name=request.auth.name)
    except InvalidPayload as exc:
        return Status(422, {"error": "invalid booking", "fields": exc.errors})
    booking = _with_states().get(pk=result.booking.pk)
    status = 201 if result.outcome == "created" else 200
    return Status(status, {"status": result.outcome, "booking": booking_out(booking, fanout=True)})


def _iso_query(value: Any) -> Any:
    # pydantic reads "0.5" as seconds since 1970; the API's contract is ISO 8601 text
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected an ISO 8601 date or date-time, e.g. 2026-12-05")
    return value


IsoQuery = Annotated[datetime | None, BeforeValidator(_iso_query)]


class Window(Schema):
    from_: IsoQuery = Field(
        None, alias="from", description="start on or after (a date means its Pacific midnight)"
    )
    to: IsoQuery = Field(None, description="start before (a date: that day is excluded)")
    # one of the statuses: free text would reach the database (PostgreSQL refuses a NUL)
    status: Booking.Status | None = None
    limit: int = Field(100, ge=1, le=MAX_LIST)


def _aware(value: datetime) -> datetime:
    return value if timezone.is_aware(value) else timezone.make_aware(value)


@api.get(
    "/bookings/",
    response={200: list[BookingOut], **ERRORS},
    summary="List bookings",
    tags=["bookings"],
)
def booking_list(request: HttpRequest, window: Query[Window]):
    """Bookings starting in [from, to), earliest first; dates are Pacific days."""
    bookings = Booking.objects.select_related("boat").order_by("start", "pk")
    if window.from_:
        bookings = bookings.filter(start__gte=_aware(window.from_))
    if window.to:
        bookings = bookings.filter(start__lt=_aware(window.to))
    if window.status:
        bookings = bookings.filter(status=window.status)
    return [booking_out(b) for b in bookings[: window.limit]]


@api.get(
    "/bookings/{booking_id}/",
    response={200: BookingDetailOut, 404: ErrorOut, **ERRORS},
    summary="One booking with its fan-out status",
    tags=["bookings"],
)
def booking_detail(request: HttpRequest, booking_id: int):
    """The booking and, per target (calendar, crew, checklist, guest page), its sync state."""
    return booking_out(get_object_or_404(_with_states(), pk=booking_id), fanout=True)


def webhook_openapi_add(schema: dict[str, Any]) -> None:
    """Document the webhook (a plain Django view) in the same OpenAPI document."""
    event = EventIn.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in event.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components["WebhookEvent"] = event
    answer = {
        "type": "object",
        "properties": {
            "status": {"type": "string"},
            "error": {"type": "string"},
            "fields": {"type": "object"},
            "booking": {"type": "string", "description": "the booking's id at its source"},
            "delivery": {"type": "integer"},
        },
    }

    def reply(text: str) -> dict[str, Any]:
        return {"description": text, "content": {"application/json": {"schema": answer}}}

    schema.setdefault("paths", {})["/webhooks/bookings/{source}/"] = {
        "post": {
            "operationId": "booking_webhook",
            "summary": "Receive a signed booking event from a marketplace relay",
            "description": (
                f"`{SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex>` where v1 is HMAC-SHA256 of "
                '"<t>.<raw body>" keyed by one of the secrets in '
                "CHARTEROPS_WEBHOOK_SECRETS_<SOURCE>. Timestamps more than 5 minutes off are "
                "refused. Body at most 256 KiB. See docs/webhooks.md."
            ),
            "tags": ["webhook"],
            "security": [],
            "parameters": [
                {
                    "name": "source",
                    "in": "path",
                    "required": True,
                    "description": "a configured source: one with CHARTEROPS_WEBHOOK_SECRETS_<SOURCE>",
                    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,19}$"},
                },
                {
                    "name": SIGNATURE_HEADER,
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "example": "t=1764608531,v1=5257a869e7..."},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/WebhookEvent"}}
                },
            },
            "responses": {
                "202": reply(
                    "accepted: stored and checked; a worker creates or updates the booking "
                    "(or records it stale) and the fan-out follows"
                ),
                "200": reply("duplicate (event id already received) or ignored type"),
                "400": reply("body is not JSON, or nested more than 32 levels deep"),
                "401": reply("missing, bad or expired signature, or no secret configured"),
                "404": {"description": "the path is not a source name (the site's 404 page)"},
                "405": {"description": "only POST"},
                "413": reply("body larger than 256 KiB"),
                "415": reply("body not sent as application/json (not stored)"),
                "429": reply("too many deliveries with a bad signature from this address"),
                "422": reply(
                    "schema or value errors (NUL characters, over-long text, impossible "
                    "dates, unknown boat, party too large), per field"
                ),
            },
        }
    }
