"""The Google backend of the calendar target, against Google's own client and HttpMockSequence.

Every test asserts the exact requests: method, URL (with sendUpdates=none), and the body
fields that matter (id, start/end, summary). Nothing leaves the machine.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.calendar.target import (
    CalendarTarget,
    calendar_event_body,
    calendar_event_id,
    google_event_sync,
)
from bookings.services import booking_cancel, booking_update
from charterops.fanout import engine
from charterops.fanout.targets import PermanentError, TransientError
from charterops.models import TargetState
from tests.bookings.calendar_support import (
    ACCOUNT,
    BASE,
    CALENDAR_ID,
    google_error,
    google_mock,
    google_target,
    no_content,
    ok,
    pacific,
    sent,
)
from tests.factories import BookingFactory, CrewAssignmentFactory, CrewMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed_booking():
    """The seed's charter: BS-4821937, Ana Ruiz, 10:00–14:00 Pacific, in December (PST)."""
    return BookingFactory(
        external_id="BS-4821937",
        guest_name="Ana Ruiz",
        guest_email="ana@example.com",
        guest_phone="+16195550142",
        start=pacific(2026, 12, 5, 10, 0),
        end=pacific(2026, 12, 5, 14, 0),
        meeting_point="Harbor Island West Marina, dock C",
        party_size=6,
    )


def _fan_out(booking, capture):
    """Make the booking's calendar row stale and run it, as a booking change does."""
    with capture(execute=True):
        engine.booking_fanout_request(booking)
    return TargetState.objects.get(booking=booking, target="calendar")


# --- the event id -----------------------------------------------------------------------------
def test_event_id_is_derived_from_the_booking_in_base32hex(seed_booking, settings):
    event_id = calendar_event_id(seed_booking)
    assert re.fullmatch(r"[0-9a-v]{52}", event_id)
    assert calendar_event_id(seed_booking) == event_id  # stable across calls and processes
    assert calendar_event_id(BookingFactory()) != event_id
    settings.CHARTEROPS_CALENDAR_ID_NAMESPACE = "staging"
    assert calendar_event_id(seed_booking) != event_id  # staging never touches production's


# --- insert, 409, patch, delete ---------------------------------------------------------------
def test_first_sync_inserts_the_seed_style_all_day_event(seed_booking, settings):
    settings.CHARTEROPS_GOOGLE_CALENDAR_ID = CALENDAR_ID
    event_id = calendar_event_id(seed_booking)
    link = "https://www.google.com/calendar/event?eid=abc"
    client, http = google_mock(ok({"id": event_id, "status": "confirmed", "htmlLink": link}))

    result = google_event_sync(seed_booking, state=None, client=client, calendar_id=CALENDAR_ID)

    [request] = sent(http)
    assert request.method == "POST"
    assert request.url == f"{BASE}?sendUpdates=none&alt=json"
    assert request.body["id"] == event_id
    assert request.body["summary"] == "BS-4821937 · Ana Ruiz · 10:00–14:00"
    assert request.body["start"] == {"date": "2026-12-05"}
    assert request.body["end"] == {"date": "2026-12-06"}  # exclusive, as Google wants
    assert request.body["extendedProperties"] == {
        "private": {"charteropsBooking": str(seed_booking.pk)}
    }
    assert result.external_ref == event_id
    assert result.detail["action"] == "inserted"
    assert result.detail["html_link"] == link


def test_a_retried_insert_that_meets_409_becomes_an_update(seed_booking):
    event_id = calendar_event_id(seed_booking)
    client, http = google_mock(
        google_error(409, "duplicate", "The requested identifier already exists."),
        ok({"id": event_id}),
    )

    result = google_event_sync(seed_booking, state=None, client=client, calendar_id=CALENDAR_ID)

    insert, update = sent(http)
    assert (insert.method, insert.path) == ("POST", f"/calendar/v3/calendars/{CALENDAR_ID}/events")
    assert update.method == "PUT"
    assert update.url == f"{BASE}/{event_id}?sendUpdates=none&alt=json"
    assert update.body["id"] == event_id
    assert update.body["status"] == "confirmed"  # also revives an event deleted earlier
    assert update.body["summary"] == "BS-4821937 · Ana Ruiz · 10:00–14:00"
    assert result.detail["action"] == "updated"
    assert result.external_ref == event_id


def test_booking_lifecycle_through_the_engine_insert_patch_delete(
    seed_booking, settings, django_capture_on_commit_callbacks
):
    event_id = calendar_event_id(seed_booking)
    client, http = google_mock(
        ok({"id": event_id}),  # confirmed: insert
        ok({"id": event_id}),  # rescheduled: patch
        no_content(),  # cancelled: delete
    )
    google_target(settings, client)

    state = _fan_out(seed_booking, django_capture_on_commit_callbacks)
    assert (state.status, state.external_ref) == ("done", event_id)

    with django_capture_on_commit_callbacks(execute=True):
        booking_update(
            seed_booking, start=pacific(2026, 12, 6, 13, 0), end=pacific(2026, 12, 6, 17, 0)
        )
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(seed_booking)

    insert, patch, delete = sent(http)
    assert insert.method == "POST"
    assert patch.method == "PATCH"
    assert patch.url == f"{BASE}/{event_id}?sendUpdates=none&alt=json"
    assert "id" not in patch.body
    assert patch.body["summary"] == "BS-4821937 · Ana Ruiz · 13:00–17:00"
    assert patch.body["start"] == {"date": "2026-12-06"}
    assert patch.body["end"] == {"date": "2026-12-07"}
    assert delete.method == "DELETE"
    assert delete.url == f"{BASE}/{event_id}?sendUpdates=none"
    state.refresh_from_db()
    assert state.status == "done"
    assert state.external_ref == event_id  # kept for audit after the delete
    assert state.detail["action"] == "deleted"


def test_a_crew_change_patches_the_description(
    seed_booking, settings, django_capture_on_commit_callbacks
):
    from bookings.services import booking_touch

    event_id = calendar_event_id(seed_booking)
    client, http = google_mock(ok({"id": event_id}), ok({"id": event_id}))
    google_target(settings, client)
    _fan_out(seed_booking, django_capture_on_commit_callbacks)

    member = CrewMemberFactory(name="Marco Silva")
    CrewAssignmentFactory(booking=seed_booking, member=member, role="captain")
    with django_capture_on_commit_callbacks(execute=True):
        booking_touch(seed_booking, reason="crew_changed")

    patch = sent(http)[1]
    assert patch.method == "PATCH"
    assert "Marco Silva (Captain)" in patch.body["description"]


def test_an_event_deleted_by_hand_in_google_is_inserted_again(
    seed_booking, settings, django_capture_on_commit_callbacks
):
    event_id = calendar_event_id(seed_booking)
    client, http = google_mock(
        ok({"id": event_id}),
        google_error(404, "notFound", "Not Found"),
        ok({"id": event_id}),
    )
    google_target(settings, client)
    _fan_out(seed_booking, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        booking_update(seed_booking, party_size=4)

    assert [r.method for r in sent(http)] == ["POST", "PATCH", "POST"]
    assert sent(http)[2].body["id"] == event_id


@pytest.mark.parametrize("status", [404, 410])
def test_deleting_an_event_that_is_gone_counts_as_done(seed_booking, status):
    seed_booking.status = "cancelled"
    reason = "notFound" if status == 404 else "deleted"
    client, http = google_mock(google_error(status, reason, "Resource has been deleted"))

    result = google_event_sync(seed_booking, state=None, client=client, calendar_id=CALENDAR_ID)

    [request] = sent(http)
    assert request.method == "DELETE"
    assert request.url == f"{BASE}/{calendar_event_id(seed_booking)}?sendUpdates=none"
    assert result.detail["action"] == "already_deleted"


def test_a_second_sync_of_an_unchanged_booking_sends_the_same_patch(seed_booking, settings):
    """Idempotent by construction: re-running never creates a second event."""
    settings.CHARTEROPS_GOOGLE_CALENDAR_ID = CALENDAR_ID
    event_id = calendar_event_id(seed_booking)
    client, http = google_mock(ok({"id": event_id}), ok({"id": event_id}), ok({"id": event_id}))
    state = TargetState(booking=seed_booking, target="calendar")
    first = google_event_sync(seed_booking, state=state, client=client, calendar_id=CALENDAR_ID)
    state.external_ref, state.detail = first.external_ref, first.detail
    google_event_sync(seed_booking, state=state, client=client, calendar_id=CALENDAR_ID)
    google_event_sync(seed_booking, state=state, client=client, calendar_id=CALENDAR_ID)

    methods = [r.method for r in sent(http)]
    assert methods == ["POST", "PATCH", "PATCH"]
    assert sent(http)[1].body == sent(http)[2].body


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("response", "retry_after"),
    [
        (
            google_error(429, "rateLimitExceeded", "Rate Limit Exceeded", **{"retry-after": "30"}),
            30,
        ),
        (google_error(500, "backendError", "Backend Error"), None),
        (google_error(503, "backendError", "Service unavailable", **{"retry-after": "5"}), 5),
        (google_error(403, "rateLimitExceeded", "Rate Limit Exceeded"), None),
    ],
    ids=["429", "500", "503", "403-rate-limit"],
)
def test_rate_limits_and_server_errors_are_transient_and_retried_by_the_engine(
    seed_booking, settings, django_capture_on_commit_callbacks, response, retry_after
):
    settings.CHARTEROPS_FANOUT_BACKOFF_BASE = 0.001
    client, http = google_mock(response, ok({"id": calendar_event_id(seed_booking)}))
    google_target(settings, client)

    with pytest.raises(TransientError) as caught:
        google_event_sync(seed_booking, state=None, client=client, calendar_id=CALENDAR_ID)
    assert caught.value.retry_after == retry_after

    # Through the engine: the row waits (at least Retry-After), then the retry inserts.
    http._iterable.insert(0, response)
    before = timezone.now()
    state = _fan_out(seed_booking, django_capture_on_commit_callbacks)
    assert state.status == "retrying"
    assert state.attempts == 1
    if retry_after:
        assert state.next_attempt_at >= before + timedelta(seconds=retry_after)
    assert engine.target_state_run(state.pk).result == "done"
    assert [r.method for r in sent(http)] == ["POST", "POST", "POST"]


def test_403_fails_the_row_with_the_service_account_to_share_the_calendar_with(
    seed_booking, settings, django_capture_on_commit_callbacks
):
    client, http = google_mock(
        google_error(403, "forbidden", "You need to have writer access to this calendar.")
    )
    google_target(settings, client)

    state = _fan_out(seed_booking, django_capture_on_commit_callbacks)

    assert state.status == "failed"
    assert f"share the calendar with {ACCOUNT}" in state.last_error
    assert CALENDAR_ID in state.last_error
    assert len(sent(http)) == 1  # not retried


def test_401_says_the_key_must_be_replaced(seed_booking):
    client, _ = google_mock(google_error(401, "authError", "Invalid Credentials"))
    with pytest.raises(PermanentError, match="create a new JSON key"):
        google_event_sync(seed_booking, state=None, client=client, calendar_id=CALENDAR_ID)


def test_a_bad_request_is_permanent_with_google_s_message(seed_booking):
    client, _ = google_mock(google_error(400, "invalid", "Invalid start time."))
    with pytest.raises(PermanentError, match="Invalid start time"):
        google_event_sync(seed_booking, state=None, client=client, calendar_id=CALENDAR_ID)


def test_missing_calendar_id_is_a_permanent_error_naming_the_setting(seed_booking, settings):
    settings.CHARTEROPS_CALENDAR_BACKEND = "google"
    settings.CHARTEROPS_GOOGLE_CALENDAR_ID = ""
    client, _ = google_mock()
    with pytest.raises(PermanentError, match="CHARTEROPS_GOOGLE_CALENDAR_ID"):
        CalendarTarget(client=client).sync(seed_booking, state=None)


# --- what the event says ---------------------------------------------------------------------
def test_description_has_boat_meeting_point_party_crew_with_roles_contact_and_admin_link(
    seed_booking, settings
):
    settings.SITE_URL = "https://ops.example.com"
    CrewAssignmentFactory(
        booking=seed_booking, member=CrewMemberFactory(name="Dee Hand"), role="deckhand"
    )
    CrewAssignmentFactory(
        booking=seed_booking, member=CrewMemberFactory(name="Cap Tain"), role="captain"
    )

    description = calendar_event_body(seed_booking)["description"]

    assert f"Boat: {seed_booking.boat.name}" in description
    assert "Meeting point: Harbor Island West Marina, dock C" in description
    assert "Party size: 6" in description
    assert description.index("Cap Tain (Captain)") < description.index("Dee Hand (Deckhand)")
    assert "Ana Ruiz · ana@example.com · +16195550142" in description
    assert f"https://ops.example.com/admin/bookings/booking/{seed_booking.pk}/change/" in (
        description
    )


def test_timed_style_sends_pacific_date_times(seed_booking, settings):
    settings.CHARTEROPS_CALENDAR_EVENT_STYLE = "timed"
    client, http = google_mock(ok({"id": "x"}))
    google_event_sync(seed_booking, state=None, client=client, calendar_id=CALENDAR_ID)
    body = sent(http)[0].body
    assert body["start"] == {
        "dateTime": "2026-12-05T10:00:00-08:00",
        "timeZone": "America/Los_Angeles",
    }
    assert body["end"] == {
        "dateTime": "2026-12-05T14:00:00-08:00",
        "timeZone": "America/Los_Angeles",
    }


# --- daylight saving time -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "want_start", "want_end", "title_times"),
    [
        # Sunday 2026-11-01: clocks go back at 02:00 PDT -> 01:00 PST.
        (
            pacific(2026, 11, 1, 10, 0),
            pacific(2026, 11, 1, 14, 0),
            "2026-11-01T10:00:00-08:00",
            "2026-11-01T14:00:00-08:00",
            "10:00–14:00",
        ),
        # Saturday before the change (PDT) overnight into the Sunday after it (PST): 5 real hours.
        (
            pacific(2026, 10, 31, 23, 0),
            pacific(2026, 11, 1, 3, 0),
            "2026-10-31T23:00:00-07:00",
            "2026-11-01T03:00:00-08:00",
            "23:00–03:00",
        ),
        # Sunday 2027-03-14: clocks go forward at 02:00 PST -> 03:00 PDT.
        (
            pacific(2027, 3, 14, 10, 0),
            pacific(2027, 3, 14, 14, 0),
            "2027-03-14T10:00:00-07:00",
            "2027-03-14T14:00:00-07:00",
            "10:00–14:00",
        ),
        # The night before it (PST) into the morning after (PDT): 3 real hours.
        (
            pacific(2027, 3, 13, 23, 30),
            pacific(2027, 3, 14, 3, 30),
            "2027-03-13T23:30:00-08:00",
            "2027-03-14T03:30:00-07:00",
            "23:30–03:30",
        ),
    ],
    ids=["nov-day-of", "nov-overnight", "mar-day-of", "mar-overnight"],
)
def test_charters_across_the_dst_change_land_at_the_right_local_time(
    settings, start, end, want_start, want_end, title_times
):
    booking = BookingFactory(start=start, end=end, guest_name="Ana Ruiz")
    settings.CHARTEROPS_CALENDAR_EVENT_STYLE = "timed"
    timed = calendar_event_body(booking)
    assert timed["start"]["dateTime"] == want_start
    assert timed["end"]["dateTime"] == want_end
    assert timed["summary"].endswith(title_times)

    settings.CHARTEROPS_CALENDAR_EVENT_STYLE = "all_day"
    all_day = calendar_event_body(booking)
    assert all_day["start"] == {"date": want_start[:10]}
    last_day = end.date() + timedelta(days=1)
    assert all_day["end"] == {"date": last_day.isoformat()}


def test_a_cancelled_then_reconfirmed_booking_revives_its_event(
    seed_booking, settings, django_capture_on_commit_callbacks
):
    """Google keeps a deleted event's id: the re-insert meets 409 and the update revives it."""
    from bookings.calendar.google import InMemoryCalendarClient

    fake = InMemoryCalendarClient()
    google_target(settings, fake)
    _fan_out(seed_booking, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(seed_booking)
    with django_capture_on_commit_callbacks(execute=True):
        booking_update(seed_booking, status="confirmed")

    event_id = calendar_event_id(seed_booking)
    assert fake.calls == [
        ("insert", event_id),
        ("delete", event_id),
        ("insert", event_id),
        ("update", event_id),
    ]
    assert fake.events[event_id]["status"] == "confirmed"
    assert list(fake.events) == [event_id]
