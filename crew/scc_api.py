"""The SCC-compatible API: ``POST /api/events`` creates or updates a charter and its crew.

Callers that used to create ShipCaptainCrew events keep working: they send the booking
details, the crew list, the charter time and the location with their service key (header
``X-Service-Key``, or ``Authorization: Bearer <key>``). The key's SHA-256 must equal one of
the comma-separated hex digests in ``SERVICE_KEY_HASH`` (several allow rotation); the
comparison is constant-time. The answer carries the ``event_id`` (the booking id, the same
id as the crew page ``/crew/events/<event_id>/``).

Request body (JSON)::

    {
      "booking_id": "BS-4821937",            # the caller's id; with "source", the upsert key
      "source": "boatsetter",                # optional, default "other"
      "status": "confirmed",                 # optional: confirmed | cancelled
      "boat": "bella-vista",                 # slug, marketplace id or name
      "guest_name": "Ana Reyes", "guest_email": "...", "guest_phone": "...", "party_size": 6,
      "charter_time": {"start": "2026-12-12T10:00:00-08:00", "end": "2026-12-12T14:00:00-08:00"},
      "location": "Harbor Island West Marina, dock C",
      "crew": [{"email": "cora@example.com", "role": "captain", "pay": "300.00"}]
    }

Crew are matched by email among the members kept in CharterOps; an unknown address is
refused (400) rather than creating an account from an API call. Everything goes through
``bookings.services`` (``booking_create`` / ``booking_update`` / ``booking_cancel``) and crew
changes through ``booking_touch``, so the audit trail, version and fan-out are the same as
for staff edits. Idempotent: the same request twice changes nothing the second time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import operator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bookings.models import Boat, Booking
from bookings.services import booking_cancel, booking_create, booking_touch, booking_update

from .models import CrewAssignment, CrewMember, Role

MAX_BODY_BYTES = 64 * 1024
VIA = "scc_api"


class SccRequestError(Exception):
    """The request cannot be applied; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(json.dumps(errors))
        self.errors = errors


@dataclass
class CrewLine:
    member: CrewMember
    role: str
    pay: Decimal


@dataclass
class SccEventResult:
    booking: Booking
    created: bool
    booking_changes: dict[str, Any]
    crew_changes: dict[str, Any]


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


# --- Parsing ---------------------------------------------------------------------------------


def _when(value: Any, field: str, errors: dict[str, Any]) -> datetime | None:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        errors[field] = "An ISO 8601 date-time is required."
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)  # the charter's local time (Pacific)
    return parsed


def _boat(value: Any, errors: dict[str, Any]) -> Boat | None:
    if not isinstance(value, str) or not value.strip():
        errors["boat"] = "The boat (slug, marketplace id or name) is required."
        return None
    value = value.strip()
    boat = Boat.objects.filter(
        Q(slug=value) | Q(external_id=value) | Q(name__iexact=value), active=True
    ).first()
    if boat is None:
        errors["boat"] = f"No active boat is called {value!r}."
    return boat


def _crew(value: Any, errors: dict[str, Any]) -> list[CrewLine]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors["crew"] = "A list of {email, role, pay} is required."
        return []
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
            problems.append(f"#{index + 1}: no crew member has the address {email or '(none)'}")
        elif role not in Role.values:
            problems.append(f"#{index + 1}: role must be one of {', '.join(Role.values)}")
        elif pay is None or pay < 0:
            problems.append(f"#{index + 1}: pay must be an amount of at least 0")
        else:
            lines.append(CrewLine(member=member, role=role, pay=pay))
    if len({line.member.pk for line in lines}) != len(lines):
        problems.append("a crew member is listed twice")
    if problems:
        errors["crew"] = problems
    return lines


def scc_event_parse(payload: Any) -> tuple[dict[str, Any], list[CrewLine] | None]:
    """Turn the SCC request into booking fields and crew lines; raises ``SccRequestError``."""
    if not isinstance(payload, dict):
        raise SccRequestError({"body": "A JSON object is required."})
    errors: dict[str, Any] = {}
    external_id = str(payload.get("booking_id") or payload.get("external_id") or "").strip()
    if not external_id:
        errors["booking_id"] = "The caller's booking id is required."
    source = str(payload.get("source") or Booking.Source.OTHER).lower()
    if source not in Booking.Source.values:
        errors["source"] = f"One of {', '.join(Booking.Source.values)}."
    times = payload.get("charter_time") or {}
    if not isinstance(times, dict):
        times = {}
    start = _when(times.get("start", payload.get("start")), "charter_time.start", errors)
    end = _when(times.get("end", payload.get("end")), "charter_time.end", errors)
    fields: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "boat": _boat(payload.get("boat"), errors),
        "start": start,
        "end": end,
        "meeting_point": str(payload.get("location") or payload.get("meeting_point") or ""),
        "guest_name": str(payload.get("guest_name") or "").strip(),
    }
    for optional in ("guest_email", "guest_phone", "special_requests"):
        if optional in payload:
            fields[optional] = str(payload[optional] or "")
    if "party_size" in payload:
        try:
            fields["party_size"] = int(payload["party_size"])
        except (TypeError, ValueError):
            errors["party_size"] = "A whole number is required."
    if not fields["guest_name"]:
        errors["guest_name"] = "The guest's name is required."
    status = str(payload.get("status") or Booking.Status.CONFIRMED).lower()
    if status not in (Booking.Status.CONFIRMED, Booking.Status.CANCELLED):
        errors["status"] = "confirmed or cancelled."
    fields["status"] = status
    crew = _crew(payload.get("crew"), errors) if "crew" in payload else None
    if errors:
        raise SccRequestError(errors)
    return fields, crew


# --- Applying --------------------------------------------------------------------------------


def _crew_sync(booking: Booking, crew: list[CrewLine]) -> dict[str, Any]:
    """Make the booking's assignments match ``crew``; returns what changed (empty: nothing)."""
    current = {a.member_id: a for a in CrewAssignment.objects.filter(booking=booking)}
    wanted = {line.member.pk: line for line in crew}
    changes: dict[str, Any] = {}
    for member_id, line in wanted.items():
        assignment = current.get(member_id)
        if assignment is None:
            CrewAssignment.objects.create(
                booking=booking, member=line.member, role=line.role, pay=line.pay
            )
            changes.setdefault("added", []).append(line.member.name)
        elif (assignment.role, assignment.pay) != (line.role, line.pay):
            assignment.role, assignment.pay = line.role, line.pay
            assignment.save(update_fields=["role", "pay"])
            changes.setdefault("changed", []).append(line.member.name)
    for member_id, assignment in current.items():
        if member_id not in wanted:
            changes.setdefault("removed", []).append(str(assignment.member))
            assignment.delete()
    return changes


def scc_event_apply(payload: Any, *, actor: Any = "scc-api") -> SccEventResult:
    """Create or update the charter and its crew from an SCC request, in one transaction.

    Idempotent (upsert on source + booking id; unchanged fields and crew change nothing).
    Raises ``SccRequestError`` for a request that cannot be applied.
    """
    fields, crew = scc_event_parse(payload)
    status = fields.pop("status")
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update()
            .filter(source=fields["source"], external_id=fields["external_id"])
            .first()
        )
        created = booking is None
        try:
            if created:
                booking = booking_create(actor=actor, via=VIA, status=status, **fields)
                booking_changes: dict[str, Any] = {"created": True}
            else:
                booking_changes = booking_update(booking, actor=actor, via=VIA, **fields)
                if status == Booking.Status.CANCELLED:
                    if booking_cancel(booking, actor=actor, via=VIA, reason="SCC API"):
                        booking_changes["status"] = [booking.status, status]
                elif booking.is_ended:
                    booking_changes.update(
                        booking_update(booking, actor=actor, via=VIA, status=status)
                    )
        except ValidationError as exc:
            raise SccRequestError(
                exc.message_dict if hasattr(exc, "error_dict") else {"booking": exc.messages}
            ) from exc
        crew_changes = _crew_sync(booking, crew) if crew is not None else {}
        if crew_changes:
            booking_touch(booking, reason="crew_changed", actor=actor, data=crew_changes)
    return SccEventResult(booking, created, booking_changes, crew_changes)


# --- The view --------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def scc_events(request: HttpRequest) -> JsonResponse:
    """POST /api/events: authenticate the service key, apply the request, answer the event id."""
    if not settings.SERVICE_KEY_HASH:
        return JsonResponse({"error": "The SCC API is not configured."}, status=503)
    if not service_key_valid(_request_key(request)):
        return JsonResponse({"error": "A valid service key is required."}, status=401)
    if len(request.body) > MAX_BODY_BYTES:
        return JsonResponse({"error": "The request is too large."}, status=413)
    try:
        payload = json.loads(request.body or b"null")
    except ValueError:
        return JsonResponse({"error": "The body must be JSON."}, status=400)
    try:
        result = scc_event_apply(payload)
    except SccRequestError as exc:
        return JsonResponse(
            {"error": "The request was not applied.", "errors": exc.errors}, status=400
        )
    booking = result.booking
    return JsonResponse(
        {
            "event_id": str(booking.pk),
            "booking_id": booking.external_id,
            "status": booking.status,
            "version": booking.version,
            "created": result.created,
            "crew_url": f"{settings.SITE_URL}/crew/events/{booking.pk}/",
        },
        status=201 if result.created else 200,
    )
