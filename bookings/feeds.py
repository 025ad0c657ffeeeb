"""The subscribable iCalendar feed of the calendar entries, and the tokens in its URL.

One feed per token: a staff member's token shows every charter, a crew member's shows the
charters they are assigned to, a boat's token only that boat's. The feed holds the entries
from 30 days back onwards, cancellations included (STATUS:CANCELLED, so subscribed calendars
drop them), with stable UIDs and the SEQUENCE the calendar target bumps on every change.

Cost: looking a feed up is two queries (the token, one aggregate for the ETag) whatever the
number of bookings; rendering adds one, and its output is cached under the ETag.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, Timezone

from charterops.audit import audit_log

from .calendar import PACIFIC
from .models import Boat, CalendarEntry, CalendarFeedToken

DAYS_BACK = 30
#: bump when the rendering changes, so cached bodies and client ETags are not reused.
FEED_FORMAT = "1"
PRODID = "-//CharterOps//Charter calendar//EN"

# The zone as Google, Apple and Outlook publish it: US rules since 2007 as yearly RRULEs,
# valid for every year a feed can show (icalendar's from_tzid lists dates instead).
VTIMEZONE_LOS_ANGELES = """BEGIN:VTIMEZONE
TZID:America/Los_Angeles
X-LIC-LOCATION:America/Los_Angeles
BEGIN:DAYLIGHT
TZOFFSETFROM:-0800
TZOFFSETTO:-0700
TZNAME:PDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0700
TZOFFSETTO:-0800
TZNAME:PST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
"""


# -- tokens ------------------------------------------------------------------------------
def calendar_feed_token_issue(
    *, user: Any = None, boat: Boat | None = None, actor: Any = None
) -> CalendarFeedToken:
    """Issue a new feed token for a staff member, a crew member and/or a boat. Audited."""
    with transaction.atomic():
        token = CalendarFeedToken.objects.create(
            token=secrets.token_urlsafe(24), user=user, boat=boat
        )
        audit_log(
            "bookings.calendar_feed_token.issued",
            token,
            actor=actor,
            data={"user": getattr(user, "pk", None), "boat": getattr(boat, "pk", None)},
        )
    return token


def calendar_feed_token_get_or_issue(
    *, user: Any = None, boat: Boat | None = None, actor: Any = None
) -> tuple[CalendarFeedToken, bool]:
    """The newest unrevoked token for exactly (user, boat), or a new one. Returns (token, issued)."""
    existing = CalendarFeedToken.objects.filter(
        user=user, boat=boat, revoked_at__isnull=True
    ).first()
    if existing is not None:
        return existing, False
    return calendar_feed_token_issue(user=user, boat=boat, actor=actor), True


def calendar_feed_token_revoke(token: CalendarFeedToken, *, actor: Any = None) -> bool:
    """Revoke the token: its feed answers 404 from now on. False if it was revoked already."""
    with transaction.atomic():
        updated = CalendarFeedToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if updated:
            audit_log("bookings.calendar_feed_token.revoked", token, actor=actor)
    token.refresh_from_db(fields=["revoked_at"])
    return bool(updated)


def calendar_feed_url(token: CalendarFeedToken) -> str:
    """The absolute feed URL; calendar apps want ``webcal://`` links, this is the https one."""
    return settings.SITE_URL + reverse("calendar-feed", args=[token.token])


# -- the feed ------------------------------------------------------------------------------
@dataclass
class Feed:
    token: CalendarFeedToken
    entries: QuerySet[CalendarEntry]
    etag: str
    name: str

    def body(self) -> bytes:
        """The rendered calendar, cached under the ETag (a change makes a new key)."""
        key = f"calendar-feed:{self.token.pk}:{self.etag}"
        body = cache.get(key)
        if body is None:
            body = calendar_feed_render(self.entries, name=self.name)
            cache.set(key, body, settings.CHARTEROPS_CALENDAR_FEED_CACHE_SECONDS)
        return body


def calendar_feed_get(raw_token: str, *, now: datetime | None = None) -> Feed | None:
    """The feed of an unrevoked token of an active user (or a boat), else None. Read-only."""
    token = (
        CalendarFeedToken.objects.select_related("user", "boat")
        .filter(token=raw_token, revoked_at__isnull=True)
        .first()
    )
    if token is None or (token.user is not None and not token.user.is_active):
        return None
    now = now or timezone.now()
    since = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=DAYS_BACK
    )
    entries = CalendarEntry.objects.filter(end__gte=since)
    if token.boat_id:
        entries = entries.filter(booking__boat_id=token.boat_id)
    if token.user is not None and not token.user.is_staff:
        # A crew member's own charters (distinct: a booking has one assignment per member).
        entries = entries.filter(booking__assignments__member__user_id=token.user_id)
    stats = entries.aggregate(n=Count("pk"), changed=Max("updated_at"), last=Max("pk"))
    fingerprint = "|".join(
        str(x)
        for x in (FEED_FORMAT, token.pk, since.date(), stats["n"], stats["changed"], stats["last"])
    )
    etag = '"' + hashlib.sha256(fingerprint.encode()).hexdigest()[:32] + '"'
    return Feed(token=token, entries=entries, etag=etag, name=_feed_name(token))


def _feed_name(token: CalendarFeedToken) -> str:
    name = "CharterOps charters"
    if token.boat is not None:
        name += f" · {token.boat.name}"
    if token.user is not None and not token.user.is_staff:
        name += f" · {token.user.get_full_name() or token.user.get_username()}"
    return name


def calendar_feed_render(entries: QuerySet[CalendarEntry], *, name: str) -> bytes:
    """The entries as one VCALENDAR (one query). Pure: same entries, same bytes."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "America/Los_Angeles")
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT15M")
    cal.add_component(Timezone.from_ical(VTIMEZONE_LOS_ANGELES))
    rows = entries.select_related("booking").order_by("start", "pk")
    for entry in rows:
        cal.add_component(_vevent(entry))
    return cal.to_ical()


def _vevent(entry: CalendarEntry) -> Event:
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", entry.updated_at.astimezone(UTC))
    event.add("last-modified", entry.updated_at.astimezone(UTC))
    event.add("sequence", entry.sequence)
    event.add("summary", entry.summary)
    if entry.description:
        event.add("description", entry.description)
    if entry.booking.meeting_point:
        event.add("location", entry.booking.meeting_point)
    start, end = entry.start.astimezone(PACIFIC), entry.end.astimezone(PACIFIC)
    if entry.all_day:
        last_day = max((end - timedelta(microseconds=1)).date(), start.date())
        event.add("dtstart", start.date())
        event.add("dtend", last_day + timedelta(days=1))
    else:
        event.add("dtstart", start)
        event.add("dtend", end)
    event.add("transp", "OPAQUE")  # a charter keeps the boat and crew busy
    event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
    event.add(
        "url",
        settings.SITE_URL + reverse("admin:bookings_booking_change", args=[entry.booking_id]),
    )
    return event
