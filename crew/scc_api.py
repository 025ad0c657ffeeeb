"""The SCC-compatible API: ``POST /api/events``, one intake source among the others.

Callers that used to create ShipCaptainCrew events keep working: they send the booking
details, the crew list, the charter time and the location with their service key (header
``X-Service-Key``, or ``Authorization: Bearer <key>``). The key's SHA-256 must equal one of
the comma-separated hex digests in ``SERVICE_KEY_HASH`` (several allow rotation); the
comparison is constant-time. The answer carries the ``event_id`` (the booking id, the same
id as the crew page ``/crew/events/<event_id>/``).

Request body (JSON)::

    {
      "booking_id": "BS-4821937",            # the caller's id; with "source", the upsert key
      "source": "boatsetter",                # optional, default "scc"; a configured source
      "status": "confirmed",                 # optional: confirmed | cancelled
      "boat": "b-77",                        # the boat's marketplace id, or its name
      "guest_name": "Ana Reyes", "guest_email": "...", "guest_phone": "...", "party_size": 6,
      "charter_time": {"start": "2026-12-12T10:00:00-08:00", "end": "2026-12-12T14:00:00-08:00"},
      "location": "Harbor Island West Marina, dock C",
      "crew": [{"email": "cora@example.com", "role": "captain", "pay": "300.00"}]
    }

This module only maps that wire format onto the intake schema (``bookings.intake``): the
booking goes through the one upsert (``booking_upsert_from_event``), and the crew list is
applied by ``crew.assignments.crew_assignments_apply`` under the same lock, in the same
transaction: one version bump and one audit row per request, whatever changed. Fields the
SCC format does not carry (prices, and the optional ones left out) are left as they are.
Crew are matched by email among active members; an unknown address is refused (422)
rather than creating an account from an API call. Idempotent: the same request twice
changes nothing the second time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import operator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bookings.intake import (
    BookingIn,
    InvalidPayload,
    MalformedBody,
    booking_payload_parse,
    booking_upsert_from_event,
    json_load,
    source_check,
)
from bookings.intake.schema import local_time_text
from bookings.models import Booking
from charterops.audit import SourceActor

from .assignments import CrewLine, crew_assignments_apply
from .models import CrewMember, Role

MAX_BODY_BYTES = 64 * 1024
VIA = "scc_api"
DEFAULT_SOURCE = "scc"
#: intake schema path -> the SCC field a caller recognises
FIELD_OF = {
    "booking": "body",
    "booking.id": "booking_id",
    "booking.status": "status",
    "booking.boat": "boat",
    "booking.start": "charter_time.start",
    "booking.end": "charter_time.end",
    "booking.meeting_point": "location",
    "booking.guest.name": "guest_name",
    "booking.guest.email": "guest_email",
    "booking.guest.phone": "guest_phone",
    "booking.party_size": "party_size",
    "booking.special_requests": "special_requests",
}
#: model fields the SCC format never carries: an SCC request leaves them as they are
NOT_CARRIED = (
    "currency",
    "boat_price",
    "service_fee",
    "captain_fee",
    "owner_payout",
    "captain_required",
)
#: optional SCC fields: left out of a request, the booking keeps its value
OPTIONAL = {
    "guest_email": "guest_email",
    "guest_phone": "guest_phone",
    "special_requests": "special_requests",
    "party_size": "party_size",
}


class SccRequestRefused(Exception):
    """The request cannot be applied; ``errors`` maps SCC field names to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class SccRequest:
    """An SCC request mapped onto the intake schema."""

    source: str
    booking: BookingIn
    keep: tuple[str, ...]
    crew: list[CrewLine] | None  # None: the request says nothing about the crew


@dataclass
class SccEventResult:
    booking: Booking
    created: bool
    outcome: str


# --- Authentication --------------------------------------------------------------------------


def service_key_valid(key: str | None) -> bool:
    """Whether ``key`` hashes to one of ``SERVICE_KEY_HASH``'s digests (constant-time)."""
    digests = [d.strip().lower() for d in settings.SERVICE_KEY_HASH.split(",") if d.strip()]
    if not key or not digests:
        return False
    offered = hashlib.sha256(key.encode()).hexdigest()
    # compare against every digest (no early exit) so timing says nothing about which matched
    matches = [hmac.compare_digest(offered, digest) for digest in digests]
    return any(matches)


def _request_key(request: HttpRequest) -> str | None:
    key = request.headers.get("X-Service-Key")
    if key:
        return key
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


# --- Mapping the wire format onto the schema -------------------------------------------------


def _crew(value: Any) -> list[CrewLine]:
    if not isinstance(value, list):
        raise SccRequestRefused({"crew": ["A list of {email, role, pay} is required."]})
    emails = {str(i.get("email", "")).strip().lower() for i in value if isinstance(i, dict)}
    emails.discard("")
    lookup = functools.reduce(operator.or_, (Q(email__iexact=e) for e in emails), Q(pk__in=[]))
    members = {m.email.lower(): m for m in CrewMember.objects.filter(lookup, active=True)}
    lines, problems = [], []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            problems.append(f"#{index + 1}: an object is required")
            continue
        email = str(item.get("email", "")).strip().lower()
        member = members.get(email)
        role = str(item.get("role", Role.DECKHAND)).strip().lower().replace(" ", "_")
        try:
            pay = Decimal(str(item.get("pay", "0"))).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            pay = None
        if member is None:
            problems.append(
                f"#{index + 1}: no crew member has the address {email[:254] or '(none)'}"
            )
        elif role not in Role.values:
            problems.append(f"#{index + 1}: role must be one of {', '.join(Role.values)}")
        elif pay is None or not pay.is_finite() or pay < 0 or pay >= Decimal("1e8"):
            problems.append(f"#{index + 1}: pay must be an amount from 0 to 99,999,999.99")
        else:
            lines.append(CrewLine(member=member, role=role, pay=pay))
    if len({line.member.pk for line in lines}) != len(lines):
        problems.append("a crew member is listed twice")
    if problems:
        raise SccRequestRefused({"crew": problems})
    return lines


def scc_request_parse(payload: Any) -> SccRequest:
    """Map an SCC request onto ``BookingIn`` (and crew lines); raises ``SccRequestRefused``."""
    if not isinstance(payload, dict):
        raise SccRequestRefused({"body": ["A JSON object is required."]})
    times = payload.get("charter_time")
    times = times if isinstance(times, dict) else {}
    boat = payload.get("boat")
    status = payload.get("status") or Booking.Status.CONFIRMED
    errors: dict[str, list[str]] = {}
    if status not in (Booking.Status.CONFIRMED, Booking.Status.CANCELLED):
        errors["status"] = ["confirmed or cancelled."]
    try:
        source = source_check(str(payload.get("source") or DEFAULT_SOURCE).lower())
    except InvalidPayload as exc:
        errors.update(exc.errors)
        source = DEFAULT_SOURCE
    data = {
        "id": payload.get("booking_id") or payload.get("external_id") or "",
        "status": status,
        "boat": {"id": boat, "name": boat} if isinstance(boat, str) else boat,
        "start": local_time_text(times.get("start", payload.get("start"))),
        "end": local_time_text(times.get("end", payload.get("end"))),
        "meeting_point": payload.get("location") or payload.get("meeting_point") or "",
        "guest": {
            "name": payload.get("guest_name") or "",
            "email": payload.get("guest_email") or "",
            "phone": payload.get("guest_phone") or "",
        },
        "party_size": payload.get("party_size", 1),
        "special_requests": payload.get("special_requests") or "",
    }
    try:
        booking = booking_payload_parse(data)
    except InvalidPayload as exc:
        for path, messages in exc.errors.items():
            errors.setdefault(FIELD_OF.get(path, path.removeprefix("booking.")), []).extend(
                messages
            )
        booking = None
    crew = None
    if "crew" in payload and payload["crew"] is not None:
        try:
            crew = _crew(payload["crew"])
        except SccRequestRefused as exc:
            errors.update(exc.errors)
    if errors or booking is None:
        raise SccRequestRefused(errors)
    keep = NOT_CARRIED + tuple(f for key, f in OPTIONAL.items() if key not in payload)
    return SccRequest(source=source, booking=booking, keep=keep, crew=crew)


# --- Applying --------------------------------------------------------------------------------


def scc_event_apply(payload: Any, *, actor: Any = None) -> SccEventResult:
    """Create or update the charter and its crew from an SCC request, in one transaction.

    One upsert (``booking_upsert_from_event``) with the crew list applied under the same
    lock: one version bump and one audit row per request. Idempotent (upsert on source +
    booking id; unchanged fields and crew change nothing). Raises ``SccRequestRefused`` for a
    request that cannot be applied; nothing is written then.
    """
    request = scc_request_parse(payload)
    crew = request.crew

    def crew_apply(booking: Booking) -> dict[str, Any]:
        return crew_assignments_apply(booking, crew) if crew is not None else {}

    try:
        with transaction.atomic(durable=True):
            result = booking_upsert_from_event(
                request.source,
                request.booking,
                actor=actor or SourceActor("scc-api"),
                via=VIA,
                keep=request.keep,
                also=crew_apply,
            )
    except InvalidPayload as exc:
        raise SccRequestRefused(
            {FIELD_OF.get(p, p.removeprefix("booking.")): m for p, m in exc.errors.items()}
        ) from None
    return SccEventResult(result.booking, result.outcome == "created", result.outcome)


# --- The view --------------------------------------------------------------------------------


def _refuse(status: int, error: str, fields: dict[str, list[str]] | None = None) -> JsonResponse:
    body: dict[str, Any] = {"error": error}
    if fields:
        body["fields"] = fields
    return JsonResponse(body, status=status)


# Not atomic: scc_event_apply's transaction is the outermost one (durable).
@csrf_exempt
@transaction.non_atomic_requests
@require_POST
def scc_events(request: HttpRequest) -> JsonResponse:
    """POST /api/events: authenticate the service key, apply the request, answer the event id."""
    if not settings.SERVICE_KEY_HASH:
        return _refuse(503, "The SCC API is not configured.")
    if not service_key_valid(_request_key(request)):
        return _refuse(401, "A valid service key is required.")
    if request.content_type != "application/json":
        return _refuse(415, "The body must be application/json.")
    if len(request.body) > MAX_BODY_BYTES:
        return _refuse(413, "The request is too large.")
    try:
        payload = json_load(request.body or b"null")
    except MalformedBody as exc:
        return _refuse(400, str(exc))
    try:
        result = scc_event_apply(payload)
    except SccRequestRefused as exc:
        return _refuse(422, "The request was not applied.", exc.errors)
    booking = result.booking
    return JsonResponse(
        {
            "event_id": str(booking.pk),
            "booking_id": booking.external_id,
            "status": booking.status,
            "version": booking.version,
            "created": result.created,
            "outcome": result.outcome,
            "crew_url": f"{settings.SITE_URL}/crew/events/{booking.pk}/",
        },
        status=201 if result.created else 200,
    )
