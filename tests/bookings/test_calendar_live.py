"""Against a real Google calendar: runs only when credentials are in the environment.

Set ``CHARTEROPS_LIVE_GOOGLE_CALENDAR_ID`` (a scratch calendar shared with the service
account) and either ``CHARTEROPS_GOOGLE_CREDENTIALS_JSON`` or ``CHARTEROPS_GOOGLE_CREDENTIALS_FILE``.
The test inserts, re-inserts (409 -> update), patches and deletes one event, then cleans up.
"""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest

from bookings.calendar import google as google_calendar
from bookings.calendar.google import EventNotFound, google_calendar_client
from bookings.calendar.target import calendar_event_id, google_event_sync
from bookings.integrations.secrets import google_service_account_cache_clear
from charterops.models import TargetState
from tests.factories import BookingFactory

CALENDAR_ID = os.environ.get("CHARTEROPS_LIVE_GOOGLE_CALENDAR_ID", "")
HAS_KEY = bool(
    os.environ.get("CHARTEROPS_GOOGLE_CREDENTIALS_JSON")
    or os.environ.get("CHARTEROPS_GOOGLE_CREDENTIALS_FILE")
)

pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (CALENDAR_ID and HAS_KEY),
        reason="set CHARTEROPS_LIVE_GOOGLE_CALENDAR_ID and a service-account key to run",
    ),
]


def test_insert_reinsert_patch_delete_on_a_real_calendar(settings):
    settings.CHARTEROPS_GOOGLE_CREDENTIALS_JSON = os.environ.get(
        "CHARTEROPS_GOOGLE_CREDENTIALS_JSON", ""
    )
    settings.CHARTEROPS_GOOGLE_CREDENTIALS_FILE = os.environ.get(
        "CHARTEROPS_GOOGLE_CREDENTIALS_FILE", ""
    )
    settings.CHARTEROPS_CALENDAR_ID_NAMESPACE = f"live-test-{uuid.uuid4().hex}"
    google_service_account_cache_clear()
    google_calendar._local.__dict__.clear()
    client = google_calendar_client()
    booking = BookingFactory()
    event_id = calendar_event_id(booking)
    state = TargetState(booking=booking, target="calendar")
    try:
        first = google_event_sync(booking, state=None, client=client, calendar_id=CALENDAR_ID)
        assert first.detail["action"] == "inserted"
        again = google_event_sync(booking, state=None, client=client, calendar_id=CALENDAR_ID)
        assert again.detail["action"] == "updated"  # 409 became an update
        state.external_ref, state.detail = again.external_ref, again.detail
        booking.party_size = 3
        patched = google_event_sync(booking, state=state, client=client, calendar_id=CALENDAR_ID)
        assert patched.detail["action"] == "patched"
        booking.status = "cancelled"
        gone = google_event_sync(booking, state=state, client=client, calendar_id=CALENDAR_ID)
        assert gone.detail["action"] == "deleted"
        twice = google_event_sync(booking, state=state, client=client, calendar_id=CALENDAR_ID)
        assert twice.detail["action"] == "already_deleted"
    finally:
        with contextlib.suppress(EventNotFound):
            client.event_delete(CALENDAR_ID, event_id)
