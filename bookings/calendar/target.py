"""The calendar target: the booking as an event in the company calendar.

Two backends, chosen by ``CHARTEROPS_CALENDAR_BACKEND``:

- ``local`` (the embedded default): a ``CalendarEntry`` row per booking, published by the
  iCalendar feed (``bookings.calendar.feed``).
- ``google``: an event in the Google Calendar ``CHARTEROPS_GOOGLE_CALENDAR_ID``, reached
  through ``bookings.calendar.google``. The local entry is kept as well, so the
  feed works with either backend.

The Google event id is derived from the booking, so inserting twice can never make two
events: a retried insert that meets 409 becomes an update.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from charterops.fanout.targets import PermanentError, SyncResult

from ..models import Booking
from .models import CalendarEntry

if TYPE_CHECKING:
    from charterops.models import TargetState

    from .google import CalendarClient

PACIFIC = ZoneInfo("America/Los_Angeles")
ALL_DAY, TIMED = "all_day", "timed"
#: the private extended property that marks an event as CharterOps' (its booking's pk).
MARKER = "charteropsBooking"
ROLE_ORDER = ["captain", "first_mate", "deckhand", "steward"]


# -- what the event says ---------------------------------------------------------------
def calendar_event_summary(booking: Booking) -> str:
    """The seed's title: booking id, guest name and local charter time."""
    start, end = timezone.localtime(booking.start), timezone.localtime(booking.end)
    return f"{booking.reference} · {booking.guest_name} · {start:%H:%M}–{end:%H:%M}"


def calendar_event_id(booking: Booking) -> str:
    """The Google event id of the booking: base32hex (``0-9a-v``) of a namespaced SHA-256.

    Deterministic, so every retry and re-run addresses the same event. 52 characters,
    inside Google's 5–1024 limit for client-chosen ids.
    """
    seed = f"{settings.CHARTEROPS_CALENDAR_ID_NAMESPACE}:booking:{booking.pk}"
    digest = hashlib.sha256(seed.encode()).digest()
    return base64.b32hexencode(digest).decode().lower().rstrip("=")


def booking_admin_url(booking: Booking) -> str:
    return settings.SITE_URL + reverse("admin:bookings_booking_change", args=[booking.pk])


def calendar_event_description(booking: Booking) -> str:
    """Boat, meeting point, party, crew with roles, guest contact and the admin link."""
    assignments = sorted(
        booking.assignments.select_related("member"),
        key=lambda a: (
            ROLE_ORDER.index(a.role) if a.role in ROLE_ORDER else len(ROLE_ORDER),
            a.member.name,
        ),
    )
    crew = [f"  {a.member.name} ({a.get_role_display()})" for a in assignments]
    contact = " · ".join(
        part for part in (booking.guest_name, booking.guest_email, booking.guest_phone) if part
    )
    lines = [
        f"Boat: {booking.boat.name}",
        f"Meeting point: {booking.meeting_point or booking.boat.home_marina or '—'}",
        f"Party size: {booking.party_size}",
        "Crew:" if crew else "Crew: not assigned yet",
        *crew,
        f"Guest: {contact}",
    ]
    if booking.special_requests:
        lines.append(f"Requests: {booking.special_requests}")
    lines.append(f"Booking: {booking_admin_url(booking)}")
    return "\n".join(lines)


def calendar_event_style() -> str:
    return settings.CHARTEROPS_CALENDAR_EVENT_STYLE


def calendar_event_times(
    booking: Booking | CalendarEntry, *, style: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Google's ``start`` and ``end``: whole local days (end exclusive) or Pacific date-times.

    Takes anything with ``start`` and ``end`` (a booking, or a local entry being checked).
    """
    start, end = booking.start.astimezone(PACIFIC), booking.end.astimezone(PACIFIC)
    if (style or calendar_event_style()) == ALL_DAY:
        first, last = all_day_dates(booking)
        return {"date": first.isoformat()}, {"date": last.isoformat()}
    return (
        {"dateTime": start.isoformat(), "timeZone": "America/Los_Angeles"},
        {"dateTime": end.isoformat(), "timeZone": "America/Los_Angeles"},
    )


def all_day_dates(booking: Booking | CalendarEntry) -> tuple[date, date]:
    """First local day of the charter and the day after its last (iCalendar/Google: exclusive)."""
    start, end = booking.start.astimezone(PACIFIC), booking.end.astimezone(PACIFIC)
    last_day = (end - timedelta(microseconds=1)).date()
    return start.date(), max(last_day, start.date()) + timedelta(days=1)


def calendar_event_body(booking: Booking, *, style: str | None = None) -> dict[str, Any]:
    """The whole event as Google wants it, with CharterOps' marker and the derived id."""
    start, end = calendar_event_times(booking, style=style)
    return {
        "id": calendar_event_id(booking),
        "summary": calendar_event_summary(booking),
        "description": calendar_event_description(booking),
        "location": booking.meeting_point,
        "start": start,
        "end": end,
        "status": "confirmed",
        "transparency": "opaque",
        "extendedProperties": {"private": {MARKER: str(booking.pk)}},
        "source": {"title": "CharterOps", "url": booking_admin_url(booking)},
    }


# -- local backend -----------------------------------------------------------------------
def calendar_entry_sync(booking: Booking) -> SyncResult:
    """Make the booking's ``CalendarEntry`` match it; bump SEQUENCE when anything shown changed.

    Idempotent: an unchanged booking writes nothing. A booking that is no longer live keeps
    its entry, marked cancelled, so subscribed calendars remove the event.
    """
    values = {
        "summary": calendar_event_summary(booking),
        "description": calendar_event_description(booking),
        "start": booking.start,
        "end": booking.end,
        "all_day": calendar_event_style() == ALL_DAY,
        "cancelled": not booking.is_live,
    }
    entry = CalendarEntry.objects.filter(booking=booking).first()
    if entry is None:
        if not booking.is_live:
            return SyncResult(skipped=True, detail={"backend": "local", "action": "none"})
        entry = CalendarEntry.objects.create(
            booking=booking, uid=f"booking-{booking.pk}@charterops", **values
        )
        action = "created"
    elif any(getattr(entry, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(entry, k, v)
        entry.sequence += 1
        entry.save()
        action = "cancelled" if entry.cancelled else "updated"
    else:
        action = "unchanged"
    return SyncResult(
        external_ref=entry.uid,
        detail={"backend": "local", "action": action, "sequence": entry.sequence},
    )


# -- Google backend ----------------------------------------------------------------------
def google_event_sync(
    booking: Booking, *, state: TargetState | None, client: CalendarClient, calendar_id: str
) -> SyncResult:
    """Make the Google event match the booking: insert, update or patch it, or delete it.

    Live booking: an event synced before is patched (reschedule, crew change); a 404 there
    means someone deleted it, so it is inserted again. A first sync inserts; 409 (a retried
    insert, or an event deleted earlier whose id lives on) becomes a full update, which
    also revives a deleted event. Booking no longer live: the event is deleted; 404/410
    count as done. Idempotent by the derived id; errors are the adapter's Transient/
    PermanentError, retried or failed by the engine.
    """
    from .google import EventExists, EventNotFound

    event_id = calendar_event_id(booking)
    detail: dict[str, Any] = {"backend": "google", "calendar_id": calendar_id}
    if not booking.is_live:
        try:
            client.event_delete(calendar_id, event_id)
            detail["action"] = "deleted"
        except EventNotFound:
            detail["action"] = "already_deleted"
        return SyncResult(external_ref=event_id, detail=detail)

    body = calendar_event_body(booking)
    previous = (state.detail or {}) if state is not None else {}
    synced_before = (
        state is not None
        and state.external_ref == event_id
        and previous.get("backend") == "google"
        and previous.get("action") in {"inserted", "updated", "patched"}
    )
    event: dict[str, Any] | None = None
    if synced_before:
        try:
            event = client.event_patch(
                calendar_id, event_id, {k: v for k, v in body.items() if k != "id"}
            )
            detail["action"] = "patched"
        except EventNotFound:
            pass  # deleted by hand in Google: put it back
    if event is None:
        try:
            event = client.event_insert(calendar_id, body)
            detail["action"] = "inserted"
        except EventExists:
            event = client.event_update(calendar_id, event_id, body)
            detail["action"] = "updated"
    if (event or {}).get("htmlLink"):
        detail["html_link"] = event["htmlLink"]  # staff can open the event from the state row
    return SyncResult(external_ref=event_id, detail=detail)


def google_calendar_id() -> str:
    calendar_id = settings.CHARTEROPS_GOOGLE_CALENDAR_ID
    if not calendar_id:
        raise PermanentError(
            "CHARTEROPS_GOOGLE_CALENDAR_ID is not set: put the id of the shared Google "
            "calendar there (Calendar settings > Integrate calendar > Calendar ID)."
        )
    return calendar_id


class CalendarTarget:
    """The fan-out target ``calendar``; the backend is read from settings at every sync.

    ``client`` injects a ``CalendarClient`` (tests, the in-memory fake); without it the
    Google client is built from the stored service-account key.
    """

    name = "calendar"
    label = "Calendar"
    short = "Cal"

    def __init__(self, *, client: CalendarClient | None = None):
        self.client = client

    def sync(self, booking: Booking, *, state: TargetState | None = None) -> SyncResult:
        """Keep the local entry, then (Google backend) the Google event. Idempotent."""
        local = calendar_entry_sync(booking)
        if settings.CHARTEROPS_CALENDAR_BACKEND != "google":
            return local
        return google_event_sync(
            booking, state=state, client=self.get_client(), calendar_id=google_calendar_id()
        )

    def get_client(self) -> CalendarClient:
        if self.client is not None:
            return self.client
        from .google import google_calendar_client

        return google_calendar_client()
