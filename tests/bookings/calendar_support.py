"""Test helpers for the calendar: Google's own HTTP mock, reading back what the client sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from googleapiclient.http import HttpMockSequence

from bookings.calendar.google import GoogleCalendarClient
from bookings.calendar.target import CalendarTarget

PACIFIC = ZoneInfo("America/Los_Angeles")
CALENDAR_ID = "ops-charters@group.calendar.google.com"
ACCOUNT = "charterops@jada-ops.iam.gserviceaccount.com"
BASE = "https://www.googleapis.com/calendar/v3/calendars/ops-charters%40group.calendar.google.com/events"


@dataclass
class SentRequest:
    method: str
    url: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None


def ok(body: dict[str, Any] | None = None, status: str = "200") -> tuple[dict, str]:
    return {"status": status}, json.dumps(body or {})


def no_content() -> tuple[dict, str]:
    return {"status": "204"}, ""


def google_error(status: int, reason: str, message: str, **headers: str) -> tuple[dict, str]:
    """An error response shaped as Google Calendar sends it."""
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}],
        }
    }
    return {"status": str(status), **headers}, json.dumps(body)


def google_mock(*responses: tuple[dict, str]) -> tuple[GoogleCalendarClient, HttpMockSequence]:
    http = HttpMockSequence(list(responses))
    return GoogleCalendarClient.from_http(http, account=ACCOUNT), http


def sent(http: HttpMockSequence) -> list[SentRequest]:
    """The requests the client made, parsed: method, URL, path, query, JSON body."""
    out = []
    for uri, method, body, _headers in http.request_sequence:
        parts = urlsplit(uri)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        out.append(
            SentRequest(
                method=method,
                url=uri,
                path=unquote(parts.path),
                query=query,
                body=json.loads(body) if body else None,
            )
        )
    return out


def google_target(settings, client) -> CalendarTarget:
    """Switch to the Google backend with ``client`` as the registered calendar target."""
    settings.CHARTEROPS_CALENDAR_BACKEND = "google"
    settings.CHARTEROPS_GOOGLE_CALENDAR_ID = CALENDAR_ID
    target = CalendarTarget(client=client)
    settings.CHARTEROPS_FANOUT_TARGETS = {"calendar": target}
    return target


def pacific(*args: int) -> datetime:
    return datetime(*args, tzinfo=PACIFIC)
