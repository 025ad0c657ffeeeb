"""Google Calendar API v3 through a service account: the one adapter CharterOps uses to reach it.

Domain code sees only the ``CalendarClient`` protocol. Errors come out already sorted:
``EventNotFound`` (404/410) and ``EventExists`` (409) are answers the caller acts on;
everything else is a fan-out ``TransientError`` (429, 5xx, rate-limit 403s, network) or a
``PermanentError`` whose message says what a person must fix (401, 403, 400).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from charterops.fanout.targets import PermanentError, TransientError

SCOPES = ["https://www.googleapis.com/auth/calendar.events"]
#: 403 reasons Google uses for quota, not for permission: they are worth retrying.
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


class EventNotFound(Exception):
    """The event does not exist (404) or was deleted already (410)."""


class EventExists(Exception):
    """An event with this id exists (409): a retried insert, or an event deleted earlier."""


class CalendarClient(Protocol):
    """What CharterOps needs from a calendar service: events by client-chosen id."""

    #: who must have access to the calendar (the service account's email), for messages.
    account: str

    def event_insert(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def event_update(
        self, calendar_id: str, event_id: str, body: dict[str, Any]
    ) -> dict[str, Any]: ...

    def event_patch(
        self, calendar_id: str, event_id: str, body: dict[str, Any]
    ) -> dict[str, Any]: ...

    def event_delete(self, calendar_id: str, event_id: str) -> None: ...

    def events_list(
        self, calendar_id: str, *, time_min: datetime, time_max: datetime
    ) -> Iterator[dict[str, Any]]: ...


class GoogleCalendarClient:
    """``CalendarClient`` on google-api-python-client; one instance per thread (httplib2 is not
    thread-safe). Every write carries ``sendUpdates=none``: crew hear from CharterOps, and a
    service account cannot invite attendees without delegation anyway. The client itself
    never retries (``num_retries=0``): the fan-out engine owns retries and backoff.
    """

    def __init__(self, service: Any, *, account: str = "the service account", subject: str = ""):
        self.service = service
        self.account = account
        self.subject = subject

    @classmethod
    def from_service_account(
        cls, info: dict[str, Any], *, subject: str = ""
    ) -> GoogleCalendarClient:
        """Build from a service-account key; ``subject`` is a Workspace user to act as."""
        from google.oauth2 import service_account
        from googleapiclient.discovery import build

        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=SCOPES, subject=subject or None
        )
        service = build(
            "calendar",
            "v3",
            credentials=credentials,
            static_discovery=True,
            cache_discovery=False,
        )
        return cls(service, account=info.get("client_email", ""), subject=subject)

    @classmethod
    def from_http(cls, http: Any, *, account: str = "the service account") -> GoogleCalendarClient:
        """Build on a given httplib2-like object (``HttpMockSequence`` in tests), no credentials."""
        from googleapiclient.discovery import build

        service = build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False)
        return cls(service, account=account)

    # -- operations --------------------------------------------------------------------
    def event_insert(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create the event with its client-chosen id. Raises ``EventExists`` on 409."""
        request = self.service.events().insert(
            calendarId=calendar_id, body=body, sendUpdates="none"
        )
        return self._execute(request, calendar_id=calendar_id)

    def event_update(self, calendar_id: str, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Replace the event (also revives one deleted earlier: its id lives on, cancelled)."""
        request = self.service.events().update(
            calendarId=calendar_id, eventId=event_id, body=body, sendUpdates="none"
        )
        return self._execute(request, calendar_id=calendar_id)

    def event_patch(self, calendar_id: str, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Change the given fields only. Raises ``EventNotFound`` on 404/410."""
        request = self.service.events().patch(
            calendarId=calendar_id, eventId=event_id, body=body, sendUpdates="none"
        )
        return self._execute(request, calendar_id=calendar_id)

    def event_delete(self, calendar_id: str, event_id: str) -> None:
        """Delete the event. Raises ``EventNotFound`` when it is gone already (404/410)."""
        request = self.service.events().delete(
            calendarId=calendar_id, eventId=event_id, sendUpdates="none"
        )
        self._execute(request, calendar_id=calendar_id)

    def events_list(
        self, calendar_id: str, *, time_min: datetime, time_max: datetime
    ) -> Iterator[dict[str, Any]]:
        """Every (non-deleted, single) event overlapping [time_min, time_max), page by page."""
        events = self.service.events()
        request = events.list(
            calendarId=calendar_id,
            timeMin=time_min.astimezone(UTC).isoformat(),
            timeMax=time_max.astimezone(UTC).isoformat(),
            singleEvents=True,
            showDeleted=False,
            maxResults=2500,
        )
        while request is not None:
            page = self._execute(request, calendar_id=calendar_id)
            yield from page.get("items", [])
            request = events.list_next(request, page)

    # -- errors --------------------------------------------------------------------------
    def _execute(self, request: Any, *, calendar_id: str) -> Any:
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import HttpError

        try:
            return request.execute(num_retries=0)
        except HttpError as exc:
            raise self._http_error(exc, calendar_id=calendar_id) from exc
        except RefreshError as exc:
            if getattr(exc, "retryable", False):
                raise TransientError(f"Google's token endpoint failed: {exc}") from exc
            hint = (
                f"check domain-wide delegation for {self.account} to act as {self.subject}"
                if self.subject
                else "the key may be deleted or disabled: create a new key and update the secret"
            )
            raise PermanentError(
                f"Google refused the service account {self.account}'s credentials ({exc}): {hint}."
            ) from exc
        except (TransportError, TimeoutError, ConnectionError) as exc:
            raise TransientError(f"Could not reach Google Calendar: {exc}") from exc

    def _http_error(self, exc: Any, *, calendar_id: str) -> Exception:
        status = int(exc.resp.status)
        reasons = {d.get("reason", "") for d in (exc.error_details or []) if isinstance(d, dict)}
        message = exc.reason or ""
        if status in (404, 410):
            return EventNotFound(message)
        if status == 409:
            return EventExists(message)
        if status == 429 or status >= 500 or (status == 403 and reasons & RATE_LIMIT_REASONS):
            return TransientError(
                f"Google Calendar answered {status} ({message or 'rate limited'}); will retry.",
                retry_after=retry_after_seconds(exc.resp.get("retry-after")),
            )
        if status == 401:
            return PermanentError(
                f"Google Calendar rejected the credentials of {self.account} (401): the key may "
                "be revoked; create a new JSON key and update the stored secret."
            )
        if status == 403:
            who = f"{self.subject} (acting for {self.account})" if self.subject else self.account
            return PermanentError(
                f"Google Calendar refused access to calendar {calendar_id} (403: {message}): "
                f"share the calendar with {who} with permission "
                "'Make changes to events', or fix CHARTEROPS_GOOGLE_CALENDAR_ID."
            )
        return PermanentError(f"Google Calendar rejected the request ({status}): {message}")


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from now, or None."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


_local = threading.local()


def google_calendar_client() -> GoogleCalendarClient:
    """The configured client for this thread, built from the stored key (re-read when rotated).

    The credentials object keeps its access token between calls, so the client is reused
    while the key is unchanged. Raises ``PermanentError`` naming a missing secret.
    """
    from django.conf import settings

    from bookings.integrations.secrets import google_service_account_info

    info = google_service_account_info()
    subject = settings.CHARTEROPS_GOOGLE_DELEGATED_USER
    key = (info.get("client_email"), info.get("private_key_id"), subject)
    cached = getattr(_local, "client", None)
    if cached is None or cached[0] != key:
        cached = (key, GoogleCalendarClient.from_service_account(info, subject=subject))
        _local.client = cached
    return cached[1]


class InMemoryCalendarClient:
    """A ``CalendarClient`` holding events in a dict, with Google's id semantics.

    Inserting an existing id raises ``EventExists`` (also for a deleted event: its id lives
    on, as on Google); deleting a missing or deleted event raises ``EventNotFound``. For tests
    and for trying the Google code path without an account.
    """

    def __init__(self, *, account: str = "fake@example.iam.gserviceaccount.com"):
        self.account = account
        self.events: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []

    def event_insert(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("insert", body["id"]))
        if body["id"] in self.events:
            raise EventExists(body["id"])
        self.events[body["id"]] = copy.deepcopy(body)
        return copy.deepcopy(body)

    def event_update(self, calendar_id: str, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("update", event_id))
        if event_id not in self.events:
            raise EventNotFound(event_id)
        self.events[event_id] = {**copy.deepcopy(body), "id": event_id}
        return copy.deepcopy(self.events[event_id])

    def event_patch(self, calendar_id: str, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("patch", event_id))
        event = self.events.get(event_id)
        if event is None or event.get("status") == "cancelled":
            raise EventNotFound(event_id)
        event.update(copy.deepcopy(body))
        return copy.deepcopy(event)

    def event_delete(self, calendar_id: str, event_id: str) -> None:
        self.calls.append(("delete", event_id))
        event = self.events.get(event_id)
        if event is None or event.get("status") == "cancelled":
            raise EventNotFound(event_id)
        event["status"] = "cancelled"

    def events_list(
        self, calendar_id: str, *, time_min: datetime, time_max: datetime
    ) -> Iterator[dict[str, Any]]:
        for event in list(self.events.values()):
            if event.get("status") == "cancelled":
                continue
            start, end = event_bounds(event)
            if start < time_max and end > time_min:
                yield copy.deepcopy(event)


def event_bounds(event: dict[str, Any]) -> tuple[datetime, datetime]:
    """An event's start and end as aware datetimes (all-day dates at Pacific midnight)."""
    from zoneinfo import ZoneInfo

    pacific = ZoneInfo("America/Los_Angeles")

    def parse(part: dict[str, Any]) -> datetime:
        if "dateTime" in part:
            return datetime.fromisoformat(part["dateTime"])
        return datetime.fromisoformat(part["date"]).replace(tzinfo=pacific)

    return parse(event["start"]), parse(event["end"])
