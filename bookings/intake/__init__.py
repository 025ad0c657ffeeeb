"""Booking intake: every way a booking comes in from outside maps onto one schema and one upsert.

- ``schema``: ``BookingIn`` (a booking's whole snapshot), the event envelope, and the door's
  checks (what the database would refuse is refused before anything is stored or queued).
- ``upsert``: ``booking_upsert_from_event``, the one upsert; the last snapshot wins.
- ``boats``: ``boat_resolve``, the one boat rule (external id, then name, active boats), and
  the webhook's per-process cache of it.
- ``sources``: sources are namespaces; which sources are configured.
- One module per source, each mapping its wire format onto ``BookingIn``:
  ``webhook`` (signed marketplace deliveries, stored then applied by a worker), ``api``
  (``POST /api/bookings/``), ``csv_import`` (the admin's import), and ``crew/scc_api.py``
  (the legacy SCC ``POST /api/events``; it lives in ``crew`` because it carries a crew list,
  applied by ``crew.assignments.crew_assignments_apply`` inside the same transaction).
- ``mail/``: marketplace emails (SES inbound through anymail, an IMAP mailbox, ``.eml`` and
  ``.mbox`` files), stored raw first, parsed into proposals staff apply through
  ``booking_upsert_from_event`` with the marketplace as source (e.g. ``boatsetter``), the
  Message-ID as event id and the Date header as ``occurred_at``, so an emailed booking meets
  the webhook's.

Nothing else creates or changes a booking from outside.
"""

from .boats import boat_resolve, boat_resolve_memo, booking_payload_precheck
from .schema import (
    EVENT_TYPES,
    BoatRef,
    BookingIn,
    EventIn,
    InvalidPayload,
    MalformedBody,
    ParsedEvent,
    booking_payload_parse,
    event_parse,
    json_load,
    pydantic_errors,
)
from .sources import source_check, source_configured, sources_configured
from .upsert import IntakeResult, booking_upsert_from_event, bookings_locked

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
    "boat_resolve_memo",
    "booking_payload_parse",
    "booking_payload_precheck",
    "booking_upsert_from_event",
    "bookings_locked",
    "event_parse",
    "json_load",
    "pydantic_errors",
    "source_check",
    "source_configured",
    "sources_configured",
]
