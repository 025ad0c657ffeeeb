"""The subscribable iCalendar feed of the calendar entries, and the tokens in its URL.

One feed per token: a staff member's token shows every charter, a crew member's shows the
charters they are assigned to, a boat's token only that boat's. The feed holds the entries
ending from 30 days back (``DAYS_BACK``) and starting up to 365 days ahead (``DAYS_AHEAD``),
cancellations included (STATUS:CANCELLED, so subscribed calendars drop them), with stable
UIDs and the SEQUENCE the calendar target bumps on every change.

Cost: looking a feed up is two queries (the token, one aggregate for the ETag) whatever the
number of bookings; rendering adds one (tuples, not model instances), and the whole body is
cached under the ETag. Each event's text is cached too, under its own version (entry id,
``updated_at``, sequence, meeting point), so a change to one booking re-renders that event
and reassembles the rest from the cache. Events are written here, not by icalendar's
per-character line folding, which dominated a cold render (the VCALENDAR header and
VTIMEZONE still come from icalendar).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Timezone

from charterops.audit import audit_log

from ..models import Boat
from .models import CalendarEntry, CalendarFeedToken
from .target import PACIFIC

DAYS_BACK = 30
DAYS_AHEAD = 365
#: bump when the rendering changes, so cached bodies and client ETags are not reused.
FEED_FORMAT = "2"
#: how long one rendered event stays in the cache (its key changes when the event does)
EVENT_CACHE_SECONDS = 7 * 24 * 3600
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


class CalendarFeedRefused(Exception):
    """A feed cannot be issued as asked (no such user or boat, an inactive user)."""


def calendar_feed_token_for_username(
    username: str, *, boat_slug: str | None = None, actor: Any = None
) -> tuple[CalendarFeedToken, bool]:
    """The feed token of the user named ``username`` (and one boat, by slug), issued if needed.

    Idempotent: an unrevoked token for exactly (user, boat) is reused. Returns (token, issued);
    raises ``CalendarFeedRefused`` with a sentence for a person when there is no such user or
    boat, or the user is inactive (an inactive user's feed answers 404).
    """
    from django.contrib.auth import get_user_model

    User = get_user_model()
    owner = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
    if owner is None:
        raise CalendarFeedRefused(f"No user {username!r}.")
    if not owner.is_active:
        raise CalendarFeedRefused(
            f"User {username!r} is inactive; an inactive user's feed answers 404."
        )
    boat = None
    if boat_slug:
        boat = Boat.objects.filter(slug=boat_slug).first()
        if boat is None:
            raise CalendarFeedRefused(f"No boat with slug {boat_slug!r}.")
    return calendar_feed_token_get_or_issue(user=owner, boat=boat, actor=actor)


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
    until = since + timedelta(days=DAYS_BACK + DAYS_AHEAD)
    entries = CalendarEntry.objects.filter(end__gte=since, start__lt=until)
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
    """The entries as one VCALENDAR (one query). Pure: same entries, same bytes.

    Events come from the per-event cache where their version is there, else are rendered
    and stored (one ``get_many`` and at most one ``set_many`` per feed).
    """
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
    head = cal.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    rows = [
        _EventRow(*row) for row in entries.order_by("start", "pk").values_list(*_EventRow._fields)
    ]
    keys = {row: _event_cache_key(row) for row in rows}
    cached = cache.get_many(list(keys.values()))
    fresh = {}
    admin_url = settings.SITE_URL + reverse("admin:bookings_booking_change", args=[_ANY_ID])
    for row, key in keys.items():
        if key not in cached:
            fresh[key] = cached[key] = _vevent(row, admin_url=admin_url)
    if fresh:
        cache.set_many(fresh, EVENT_CACHE_SECONDS)
    return b"".join([head[: -len(end)], *(cached[keys[row]] for row in rows), end])


class _EventRow(NamedTuple):
    pk: int
    uid: str
    summary: str
    description: str
    start: datetime
    end: datetime
    all_day: bool
    sequence: int
    cancelled: bool
    updated_at: datetime
    booking_id: int
    booking__meeting_point: str


def _event_cache_key(row: _EventRow) -> str:
    version = "|".join(
        str(x) for x in (row.updated_at.isoformat(), row.sequence, row.booking__meeting_point)
    )
    digest = hashlib.sha256(f"{version}|{settings.SITE_URL}".encode()).hexdigest()[:24]
    return f"calendar-feed-event:{FEED_FORMAT}:{row.pk}:{digest}"


_ANY_ID = 918273645  # stands for the booking id in the admin URL, reversed once per feed
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _text(value: str) -> str:
    """An iCalendar TEXT value (RFC 5545 3.3.11): escaped, control characters dropped."""
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> bytes:
    """One content line, folded at 75 octets without splitting a UTF-8 character."""
    raw = line.encode()
    if len(raw) <= 75:
        return raw + b"\r\n"
    parts, start, limit = [], 0, 75
    while start < len(raw):
        stop = min(start + limit, len(raw))
        while stop < len(raw) and raw[stop] & 0xC0 == 0x80:  # a continuation byte
            stop -= 1
        parts.append(raw[start:stop])
        start, limit = stop, 74  # a continuation line starts with one space
    return b"\r\n ".join(parts) + b"\r\n"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _vevent(row: _EventRow, *, admin_url: str) -> bytes:
    start, end = row.start.astimezone(PACIFIC), row.end.astimezone(PACIFIC)
    if row.all_day:
        last_day = max((end - timedelta(microseconds=1)).date(), start.date())
        when = [
            f"DTSTART;VALUE=DATE:{start.date():%Y%m%d}",
            f"DTEND;VALUE=DATE:{last_day + timedelta(days=1):%Y%m%d}",
        ]
    else:
        when = [
            f"DTSTART;TZID=America/Los_Angeles:{start:%Y%m%dT%H%M%S}",
            f"DTEND;TZID=America/Los_Angeles:{end:%Y%m%dT%H%M%S}",
        ]
    lines = [
        "BEGIN:VEVENT",
        f"UID:{_text(row.uid)}",
        f"DTSTAMP:{_utc(row.updated_at)}",
        f"LAST-MODIFIED:{_utc(row.updated_at)}",
        f"SEQUENCE:{row.sequence}",
        f"SUMMARY:{_text(row.summary)}",
    ]
    if row.description:
        lines.append(f"DESCRIPTION:{_text(row.description)}")
    if row.booking__meeting_point:
        lines.append(f"LOCATION:{_text(row.booking__meeting_point)}")
    lines += [
        *when,
        "TRANSP:OPAQUE",  # a charter keeps the boat and crew busy
        f"STATUS:{'CANCELLED' if row.cancelled else 'CONFIRMED'}",
        "URL:" + admin_url.replace(str(_ANY_ID), str(row.booking_id)),
        "END:VEVENT",
    ]
    return b"".join(_fold(line) for line in lines)
