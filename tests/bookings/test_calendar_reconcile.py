"""The drift check: ``calendar_reconcile`` finds missing, stale, orphan and duplicate events and
``--fix`` repairs them through the engine; it runs nightly and its findings are in the admin."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from bookings.calendar.target import CalendarTarget, calendar_event_body, calendar_event_id
from bookings.models import Booking, CalendarDrift, CalendarEntry
from bookings.tasks import calendar_reconcile_task
from charterops.fanout import engine
from charterops.models import AuditEvent
from tests.bookings.calendar_support import google_target
from tests.factories import BookingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    from bookings.calendar.google import InMemoryCalendarClient

    return InMemoryCalendarClient()


def _days(n: int):
    return timezone.localdate() + timedelta(days=n)


def _synced(capture, count: int) -> list[Booking]:
    bookings = [
        BookingFactory(start=timezone.now() + timedelta(days=3 + i, hours=1)) for i in range(count)
    ]
    for b in bookings:
        b.end = b.start + timedelta(hours=4)
        b.save()
        with capture(execute=True):
            engine.booking_fanout_request(b)
    return bookings


def _reconcile(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(
        "calendar_reconcile", "--from", str(_days(0)), "--to", str(_days(30)), *args, stdout=out
    )
    return out.getvalue()


@pytest.fixture
def drifted(settings, fake, django_capture_on_commit_callbacks):
    """Five synced charters, then hands in Google and a database edit that skipped the engine."""
    google_target(settings, fake)
    missing, renamed, moved, cancelled, doubled = _synced(django_capture_on_commit_callbacks, 5)
    del fake.events[calendar_event_id(missing)]
    fake.events[calendar_event_id(renamed)]["summary"] = "Dentist"
    shifted = moved.start + timedelta(hours=2)
    fake.events[calendar_event_id(moved)]["start"] = {
        "date": (shifted + timedelta(days=1)).date().isoformat()
    }
    Booking.objects.filter(pk=cancelled.pk).update(status=Booking.Status.CANCELLED)
    copy = {**calendar_event_body(doubled), "id": "legacy0copy0of0event"}
    fake.events[copy["id"]] = copy
    ghost = {**calendar_event_body(doubled), "id": "ghost0event"}
    ghost["extendedProperties"] = {"private": {"charteropsBooking": "987654"}}
    fake.events["ghost0event"] = ghost
    someone_else = {**calendar_event_body(doubled), "id": "dentist", "extendedProperties": {}}
    fake.events["dentist"] = someone_else
    return {
        "missing": missing,
        "renamed": renamed,
        "moved": moved,
        "cancelled": cancelled,
        "doubled": doubled,
    }


def test_reconcile_reports_each_kind_of_drift(drifted, fake):
    output = _reconcile()

    findings = {(d.kind, d.booking_id, d.event_id) for d in CalendarDrift.objects.all()}
    assert findings == {
        ("missing", drifted["missing"].pk, calendar_event_id(drifted["missing"])),
        ("stale", drifted["renamed"].pk, calendar_event_id(drifted["renamed"])),
        ("stale", drifted["moved"].pk, calendar_event_id(drifted["moved"])),
        ("orphan", drifted["cancelled"].pk, calendar_event_id(drifted["cancelled"])),
        ("duplicate", drifted["doubled"].pk, "legacy0copy0of0event"),
        ("orphan", None, "ghost0event"),
    }
    assert f"{drifted['missing'].reference} has no calendar event" in output
    assert "title 'Dentist'" in output
    assert "6 finding(s); run with --fix." in output
    assert "dentist" in fake.events  # not ours: never reported, never touched
    assert not [c for c in fake.calls if c[0] != "insert"]  # the check itself writes nothing


def test_fix_repairs_through_the_engine_and_a_second_run_finds_nothing(
    drifted, fake, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        output = _reconcile("--fix")

    assert "re-synced 4 booking(s) through the engine, deleted 2 event(s)" in output
    assert fake.events[calendar_event_id(drifted["missing"])]["status"] == "confirmed"
    assert fake.events[calendar_event_id(drifted["renamed"])]["summary"] != "Dentist"
    assert fake.events[calendar_event_id(drifted["cancelled"])]["status"] == "cancelled"
    assert fake.events["legacy0copy0of0event"]["status"] == "cancelled"
    assert fake.events["ghost0event"]["status"] == "cancelled"
    assert fake.events["dentist"].get("status") != "cancelled"
    assert not CalendarDrift.objects.filter(fixed_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="bookings.calendar.reconciled").exists()
    assert AuditEvent.objects.filter(action="charterops.fanout.sync_now").count() == 4

    assert "No drift." in _reconcile()
    assert not CalendarDrift.objects.filter(fixed_at__isnull=True).exists()


def test_json_report(drifted):
    report = json.loads(_reconcile("--json"))
    assert report["backend"] == "google"
    assert report["bookings_checked"] == 4  # the cancelled one is not live any more
    assert sorted(f["kind"] for f in report["findings"]) == [
        "duplicate",
        "missing",
        "orphan",
        "orphan",
        "stale",
        "stale",
    ]


def test_a_booking_moved_out_of_the_range_leaves_a_stale_event_behind(
    settings, fake, django_capture_on_commit_callbacks
):
    google_target(settings, fake)
    [booking] = _synced(django_capture_on_commit_callbacks, 1)
    Booking.objects.filter(pk=booking.pk).update(
        start=booking.start + timedelta(days=60), end=booking.end + timedelta(days=60)
    )
    _reconcile()
    [finding] = CalendarDrift.objects.all()
    assert (finding.kind, finding.booking_id) == ("stale", booking.pk)
    assert "its event is still in this range" in finding.message


def test_local_backend_is_checked_against_its_entries(settings, django_capture_on_commit_callbacks):
    settings.CHARTEROPS_FANOUT_TARGETS = {"calendar": CalendarTarget()}
    lost, edited = _synced(django_capture_on_commit_callbacks, 2)
    CalendarEntry.objects.filter(booking=lost).delete()
    CalendarEntry.objects.filter(booking=edited).update(summary="typo")

    output = _reconcile()
    assert {(d.kind, d.booking_id) for d in CalendarDrift.objects.all()} == {
        ("missing", lost.pk),
        ("stale", edited.pk),
    }
    assert "Calendar (local)" in output

    with django_capture_on_commit_callbacks(execute=True):
        _reconcile("--fix")
    assert CalendarEntry.objects.get(booking=lost).summary.startswith(lost.reference)
    assert CalendarEntry.objects.get(booking=edited).summary != "typo"
    assert "No drift." in _reconcile()


def test_a_failing_calendar_makes_the_command_fail_with_the_reason(settings):
    settings.CHARTEROPS_CALENDAR_BACKEND = "google"
    settings.CHARTEROPS_GOOGLE_CALENDAR_ID = ""
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="CHARTEROPS_GOOGLE_CALENDAR_ID"):
        _reconcile()


# --- nightly, and in the admin ------------------------------------------------------------------
def test_nightly_task_is_scheduled_and_records_findings_without_fixing(drifted, fake, settings):
    from charterops.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["calendar-reconcile"]
    assert entry["task"] == calendar_reconcile_task.name == "bookings.calendar_reconcile"
    assert entry["task"] in app.tasks
    calls_before = len(fake.calls)

    assert calendar_reconcile_task.delay().get() == 6  # through Celery (eager here)
    assert calendar_reconcile_task() == 6
    assert CalendarDrift.objects.filter(fixed_at__isnull=True).count() == 6  # replaced, not added
    assert all(kind == "insert" for kind, _ in fake.calls[calls_before:])  # nothing written


def test_findings_are_listed_in_the_admin_and_fixed_from_there(
    drifted,
    fake,
    superuser_client,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    calendar_reconcile_task()
    url = reverse("admin:bookings_calendardrift_changelist")
    with django_assert_max_num_queries(12):
        listing = superuser_client.get(url + "?open=yes")
    assert listing.status_code == 200
    assert f"{drifted['missing'].reference} has no calendar event" in listing.content.decode()

    ids = list(CalendarDrift.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(
            url, {"action": "fix_findings", "_selected_action": ids}, follow=True
        )
    assert "Re-synced 4 booking(s), deleted 2 event(s)." in response.content.decode()
    assert calendar_reconcile_task() == 0


def test_operations_staff_see_findings_but_cannot_edit_them(client, staff_user, drifted):
    calendar_reconcile_task()
    client.force_login(staff_user)
    url = reverse("admin:bookings_calendardrift_changelist")
    assert client.get(url).status_code == 200
    finding = CalendarDrift.objects.first()
    change = client.get(reverse("admin:bookings_calendardrift_change", args=[finding.pk]))
    assert b'type="submit" value="Save"' not in change.content


def test_google_events_are_listed_page_by_page_with_the_range(settings):
    """The real adapter: events.list with timeMin/timeMax, singleEvents, then nextPageToken."""
    from tests.bookings.calendar_support import google_mock, ok, sent

    booking = BookingFactory(start=timezone.now() + timedelta(days=2))
    body = calendar_event_body(booking)
    client, http = google_mock(
        ok({"items": [], "nextPageToken": "page-2"}),
        ok({"items": [{**body, "summary": "edited by hand"}]}),
    )
    google_target(settings, client)

    _reconcile()

    first, second = sent(http)
    assert first.method == second.method == "GET"
    assert first.path.endswith("/calendars/ops-charters@group.calendar.google.com/events")
    assert first.query["singleEvents"] == "true"
    assert first.query["showDeleted"] == "false"
    assert first.query["timeMin"].startswith(f"{_days(0)}T0")  # Pacific midnight, in UTC
    assert first.query["timeMax"].startswith(f"{_days(31)}T0")
    assert "pageToken" not in first.query
    assert second.query["pageToken"] == "page-2"
    [finding] = CalendarDrift.objects.all()
    assert (finding.kind, finding.booking_id) == ("stale", booking.pk)


def test_local_orphan_of_a_booking_the_engine_never_ran_for_is_cancelled_in_the_feed():
    booking = BookingFactory(start=timezone.now() + timedelta(days=2))
    CalendarTarget().sync(booking, state=None)  # an entry, but no fan-out row
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.EXPIRED)

    _reconcile()
    [finding] = CalendarDrift.objects.all()
    assert (finding.kind, finding.booking_id) == ("orphan", booking.pk)
    assert "is expired but its event is still on the calendar" in finding.message

    _reconcile("--fix")
    entry = CalendarEntry.objects.get(booking=booking)
    assert (entry.cancelled, entry.sequence) == (True, 1)  # subscribers drop it
    assert "No drift." in _reconcile()
