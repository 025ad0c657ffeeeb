"""The iCalendar feed: what a subscribed calendar app receives, and who may receive it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from bookings.calendar.feed import calendar_feed_token_issue, calendar_feed_url
from bookings.calendar.target import CalendarTarget
from bookings.models import Booking, CalendarFeedToken
from tests.bookings.calendar_support import pacific
from tests.factories import (
    BoatFactory,
    BookingFactory,
    CrewAssignmentFactory,
    CrewMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def synced(booking: Booking) -> Booking:
    """Run the calendar target (local backend) as the engine would."""
    CalendarTarget().sync(booking, state=None)
    return booking


def feed_path(token: CalendarFeedToken) -> str:
    return reverse("calendar-feed", args=[token.token])


def fetch(client, token, **headers) -> tuple[object, Calendar | None]:
    response = client.get(feed_path(token), **headers)
    cal = Calendar.from_ical(response.content) if response.status_code == 200 else None
    return response, cal


def events(cal: Calendar) -> dict[str, object]:
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


@pytest.fixture
def staff_token(staff_user):
    return calendar_feed_token_issue(user=staff_user)


# --- what the feed holds --------------------------------------------------------------------------
def test_feed_parses_back_with_one_event_per_booking_and_unique_uids(client, staff_token):
    bookings = [synced(BookingFactory()) for _ in range(4)]

    response, cal = fetch(client, staff_token)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    uids = [str(e["uid"]) for e in cal.walk("VEVENT")]
    assert len(uids) == len(set(uids)) == 4
    assert set(uids) == {f"booking-{b.pk}@charterops" for b in bookings}
    assert str(cal["prodid"]).startswith("-//CharterOps")
    assert str(cal["version"]) == "2.0"
    assert [str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")] == ["America/Los_Angeles"]


def test_event_carries_the_seed_title_description_and_location(client, staff_token):
    booking = synced(
        BookingFactory(
            external_id="BS-4821937",
            guest_name="Ana Ruiz",
            start=pacific(2026, 12, 5, 10, 0),
            end=pacific(2026, 12, 5, 14, 0),
        )
    )
    _, cal = fetch(client, staff_token)
    event = events(cal)[f"booking-{booking.pk}@charterops"]
    assert str(event["summary"]) == "BS-4821937 · Ana Ruiz · 10:00–14:00"
    assert f"Boat: {booking.boat.name}" in str(event["description"])
    assert str(event["location"]) == booking.meeting_point
    assert str(event["status"]) == "CONFIRMED"
    # all-day, as the seed's: the whole local day, end exclusive
    assert event.decoded("dtstart") == datetime(2026, 12, 5).date()
    assert event.decoded("dtend") == datetime(2026, 12, 6).date()


def test_a_change_bumps_sequence_and_keeps_the_uid(client, staff_token):
    booking = synced(BookingFactory())
    _, before = fetch(client, staff_token)
    booking.start += timedelta(hours=2)
    booking.end += timedelta(hours=2)
    booking.save()
    synced(booking)
    synced(booking)  # unchanged now: no second bump

    _, after = fetch(client, staff_token)
    uid = f"booking-{booking.pk}@charterops"
    assert events(before)[uid]["sequence"] == 0
    assert events(after)[uid]["sequence"] == 1


def test_a_cancelled_booking_stays_in_the_feed_as_cancelled(client, staff_token):
    booking = synced(BookingFactory())
    booking.status = Booking.Status.CANCELLED
    booking.save()
    synced(booking)

    _, cal = fetch(client, staff_token)
    event = events(cal)[f"booking-{booking.pk}@charterops"]
    assert str(event["status"]) == "CANCELLED"
    assert event["sequence"] == 1


def test_feed_holds_charters_from_30_days_back(client, staff_token):
    now = timezone.now()
    old = synced(
        BookingFactory(start=now - timedelta(days=32), end=now - timedelta(days=31, hours=20))
    )
    recent = synced(
        BookingFactory(start=now - timedelta(days=29), end=now - timedelta(days=28, hours=20))
    )
    future = synced(
        BookingFactory(start=now + timedelta(days=200), end=now + timedelta(days=200, hours=4))
    )

    _, cal = fetch(client, staff_token)
    uids = set(events(cal))
    assert f"booking-{old.pk}@charterops" not in uids
    assert {f"booking-{recent.pk}@charterops", f"booking-{future.pk}@charterops"} <= uids


def test_feed_stops_365_days_ahead(client, staff_token):
    now = timezone.now()
    inside = synced(
        BookingFactory(start=now + timedelta(days=360), end=now + timedelta(days=360, hours=4))
    )
    beyond = synced(
        BookingFactory(start=now + timedelta(days=400), end=now + timedelta(days=400, hours=4))
    )
    uids = set(events(fetch(client, staff_token)[1]))
    assert f"booking-{inside.pk}@charterops" in uids
    assert f"booking-{beyond.pk}@charterops" not in uids


def test_hostile_text_round_trips_and_every_line_fits_75_octets(client, staff_token):
    guest = "Zoë \\ Ruiz; «VIP», party\nof ten " + "ñ" * 80
    booking = synced(BookingFactory(guest_name=guest, meeting_point="Dock C; gate 3, slip 4"))
    response, cal = fetch(client, staff_token)
    event = events(cal)[f"booking-{booking.pk}@charterops"]
    assert guest in str(event["summary"])
    assert str(event["location"]) == "Dock C; gate 3, slip 4"
    assert all(len(line) <= 75 for line in response.content.split(b"\r\n"))
    response.content.decode()  # folding never splits a UTF-8 character


def test_a_change_re_renders_that_one_event_only(client, staff_token, monkeypatch):
    from bookings.calendar import feed as feeds

    bookings = [synced(BookingFactory()) for _ in range(5)]
    fetch(client, staff_token)
    rendered = []
    real = feeds._vevent
    monkeypatch.setattr(
        feeds, "_vevent", lambda row, **kw: rendered.append(row.pk) or real(row, **kw)
    )
    changed = bookings[2]
    changed.guest_name = "Renamed Guest"
    changed.save()
    synced(changed)
    _, cal = fetch(client, staff_token)
    assert rendered == [changed.calendar_entry.pk]
    assert "Renamed Guest" in str(events(cal)[f"booking-{changed.pk}@charterops"]["summary"])
    assert len(events(cal)) == 5


# --- time zones ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "utc_start", "utc_end"),
    [
        (
            pacific(2026, 11, 1, 10, 0),
            pacific(2026, 11, 1, 14, 0),
            utc(2026, 11, 1, 18, 0),
            utc(2026, 11, 1, 22, 0),
        ),
        (
            pacific(2026, 10, 31, 23, 0),
            pacific(2026, 11, 1, 3, 0),
            utc(2026, 11, 1, 6, 0),
            utc(2026, 11, 1, 11, 0),
        ),
        (
            pacific(2027, 3, 14, 10, 0),
            pacific(2027, 3, 14, 14, 0),
            utc(2027, 3, 14, 17, 0),
            utc(2027, 3, 14, 21, 0),
        ),
        (
            pacific(2027, 3, 13, 23, 30),
            pacific(2027, 3, 14, 3, 30),
            utc(2027, 3, 14, 7, 30),
            utc(2027, 3, 14, 10, 30),
        ),
    ],
    ids=["nov-day-of", "nov-overnight", "mar-day-of", "mar-overnight"],
)
def test_timed_charters_across_dst_resolve_right_through_the_feed_s_own_vtimezone(
    client, staff_token, settings, start, end, utc_start, utc_end
):
    settings.CHARTEROPS_CALENDAR_EVENT_STYLE = "timed"
    with pytest.MonkeyPatch.context() as mp:
        # Keep the charter inside the 30-day window whatever today is.
        mp.setattr("bookings.calendar.feed.DAYS_BACK", 3650)
        booking = synced(BookingFactory(start=start, end=end))
        response, cal = fetch(client, staff_token)

    raw = response.content.decode()
    assert f"DTSTART;TZID=America/Los_Angeles:{start:%Y%m%dT%H%M%S}" in raw
    assert f"DTEND;TZID=America/Los_Angeles:{end:%Y%m%dT%H%M%S}" in raw
    event = events(cal)[f"booking-{booking.pk}@charterops"]
    assert event.decoded("dtstart").astimezone(UTC) == utc_start  # icalendar's zoneinfo
    # Resolve the wall-clock times with the rules of the VTIMEZONE the feed ships (what a
    # client without a zone database does), not with this machine's zoneinfo.
    vtz = cal.walk("VTIMEZONE")[0].to_tz(lookup_tzid=False)
    local_start = event.decoded("dtstart").replace(tzinfo=None)
    local_end = event.decoded("dtend").replace(tzinfo=None)
    assert local_start.replace(tzinfo=vtz).astimezone(UTC) == utc_start
    assert local_end.replace(tzinfo=vtz).astimezone(UTC) == utc_end


# --- who sees what -----------------------------------------------------------------------------------
def test_a_boat_token_shows_only_that_boat(client):
    ours, theirs = BoatFactory(), BoatFactory()
    mine = synced(BookingFactory(boat=ours))
    synced(BookingFactory(boat=theirs))
    token = calendar_feed_token_issue(boat=ours)

    _, cal = fetch(client, token)
    assert set(events(cal)) == {f"booking-{mine.pk}@charterops"}
    assert ours.name in str(cal["x-wr-calname"])


def test_a_crew_member_s_token_shows_only_their_charters(client):
    member = CrewMemberFactory()
    theirs = synced(BookingFactory())
    CrewAssignmentFactory(booking=theirs, member=member)
    synced(BookingFactory())
    token = calendar_feed_token_issue(user=member.user)

    _, cal = fetch(client, token)
    assert set(events(cal)) == {f"booking-{theirs.pk}@charterops"}


def test_a_revoked_token_answers_404(client, staff_token):
    from bookings.calendar.feed import calendar_feed_token_revoke

    synced(BookingFactory())
    assert client.get(feed_path(staff_token)).status_code == 200
    assert calendar_feed_token_revoke(staff_token) is True
    assert calendar_feed_token_revoke(staff_token) is False  # idempotent
    assert client.get(feed_path(staff_token)).status_code == 404


def test_unknown_token_and_inactive_user_answer_404(client):
    assert client.get(reverse("calendar-feed", args=["not-a-token"])).status_code == 404
    user = UserFactory(is_staff=True, is_active=False)
    token = calendar_feed_token_issue(user=user)
    assert client.get(feed_path(token)).status_code == 404


def test_the_feed_is_public_by_token_only_and_not_cached_by_shared_caches(client, staff_token):
    response = client.get(feed_path(staff_token))
    assert "private" in response["Cache-Control"]
    assert client.post(feed_path(staff_token)).status_code == 405
    assert client.head(feed_path(staff_token)).status_code == 200


# --- conditional GET, caching, query budget ------------------------------------------------------
def test_conditional_get_answers_304_until_something_changes(client, staff_token):
    booking = synced(BookingFactory())
    first = client.get(feed_path(staff_token))
    etag = first["ETag"]

    again = client.get(feed_path(staff_token), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""

    booking.guest_name = "Someone Else"
    booking.save()
    synced(booking)
    changed = client.get(feed_path(staff_token), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert b"Someone Else" in changed.content


def test_query_count_does_not_grow_with_bookings(client, staff_token, django_assert_num_queries):
    for _ in range(3):
        synced(BookingFactory())
    with django_assert_num_queries(3):  # token, ETag aggregate, entries
        few = client.get(feed_path(staff_token))
    for _ in range(30):
        synced(BookingFactory())
    cache.clear()
    with django_assert_num_queries(3):
        many = client.get(feed_path(staff_token))
    assert few.content.count(b"BEGIN:VEVENT") == 3
    assert many.content.count(b"BEGIN:VEVENT") == 33

    with django_assert_num_queries(2):  # rendered body comes from the cache
        cached = client.get(feed_path(staff_token))
    assert cached.content == many.content


# --- issuing: admin and command ------------------------------------------------------------------


def test_admin_issues_a_token_and_shows_its_url(superuser_client, settings):
    settings.SITE_URL = "https://ops.example.com"
    boat = BoatFactory()
    response = superuser_client.post(
        reverse("admin:bookings_calendarfeedtoken_add"), {"user": "", "boat": boat.pk}, follow=True
    )
    token = CalendarFeedToken.objects.get()
    url = f"https://ops.example.com/calendar/{token.token}.ics"
    assert url in response.content.decode()  # the success message
    assert len(token.token) >= 32
    listing = superuser_client.get(reverse("admin:bookings_calendarfeedtoken_changelist"))
    assert url in listing.content.decode()
    change = superuser_client.get(
        reverse("admin:bookings_calendarfeedtoken_change", args=[token.pk])
    )
    assert url in change.content.decode()


def test_admin_revoke_action_turns_the_feed_off(superuser_client, client, staff_token):
    from charterops.models import AuditEvent

    response = superuser_client.post(
        reverse("admin:bookings_calendarfeedtoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [staff_token.pk]},
        follow=True,
    )
    assert "Revoked 1 feed(s)." in response.content.decode()
    staff_token.refresh_from_db()
    assert staff_token.revoked_at is not None
    assert client.get(feed_path(staff_token)).status_code == 404
    assert AuditEvent.objects.filter(
        action="bookings.calendar_feed_token.revoked", actor__username="boss"
    ).exists()


def test_operations_staff_can_issue_and_revoke(client, staff_user):
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:bookings_calendarfeedtoken_add"), {"user": staff_user.pk, "boat": ""}
    )
    assert response.status_code == 302
    token = CalendarFeedToken.objects.get(user=staff_user)
    client.post(
        reverse("admin:bookings_calendarfeedtoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_calendar_feed_url_command_issues_once_then_reuses(capsys, staff_user, settings):
    settings.SITE_URL = "https://ops.example.com"
    boat = BoatFactory(slug="jada")

    call_command("calendar_feed_url", "--user", staff_user.username)
    first = capsys.readouterr()
    call_command("calendar_feed_url", "--user", staff_user.username)
    second = capsys.readouterr()
    call_command("calendar_feed_url", "--user", staff_user.username, "--boat", "jada")
    per_boat = capsys.readouterr()

    token = CalendarFeedToken.objects.get(user=staff_user, boat=None)
    assert first.out.strip() == calendar_feed_url(token)
    assert first.out.startswith("https://ops.example.com/calendar/")
    assert "Issued" in first.err
    assert second.out == first.out and "Issued" not in second.err
    assert per_boat.out != first.out
    assert CalendarFeedToken.objects.get(boat=boat).user == staff_user


def test_calendar_feed_url_command_names_a_bad_user_or_boat(staff_user):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user 'ghost'"):
        call_command("calendar_feed_url", "--user", "ghost")
    with pytest.raises(CommandError, match="No boat with slug 'ghost'"):
        call_command("calendar_feed_url", "--user", staff_user.username, "--boat", "ghost")
