"""The calendar target on its embedded default: local entries, no Google account needed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bookings.calendar.google import InMemoryCalendarClient
from bookings.calendar.target import CalendarTarget
from bookings.models import Booking, CalendarEntry
from bookings.services import booking_cancel, booking_update
from charterops.fanout import engine
from charterops.models import TargetState
from tests.bookings.calendar_support import google_target
from tests.factories import BookingFactory

pytestmark = pytest.mark.django_db


class Untouchable:
    """A calendar client that fails the test if the local backend ever reaches for Google."""

    account = "nobody"

    def __getattr__(self, name):
        raise AssertionError(f"the local backend called Google ({name})")


def test_local_is_the_default_and_never_reaches_google(settings, booking):
    assert settings.CHARTEROPS_CALENDAR_BACKEND == "local"
    result = CalendarTarget(client=Untouchable()).sync(booking, state=None)
    entry = CalendarEntry.objects.get(booking=booking)
    assert result.external_ref == entry.uid == f"booking-{booking.pk}@charterops"
    assert result.detail == {"backend": "local", "action": "created", "sequence": 0}
    assert entry.all_day is True  # the seed's style by default
    assert entry.summary.startswith(booking.reference)


def test_a_second_sync_changes_nothing(booking):
    target = CalendarTarget()
    target.sync(booking, state=None)
    stamp = CalendarEntry.objects.get(booking=booking).updated_at
    result = target.sync(booking, state=None)
    entry = CalendarEntry.objects.get(booking=booking)
    assert result.detail["action"] == "unchanged"
    assert (entry.sequence, entry.updated_at) == (0, stamp)


def test_a_booking_that_never_went_live_is_skipped(booking):
    booking.status = Booking.Status.INQUIRY
    assert CalendarTarget().sync(booking, state=None).skipped
    assert not CalendarEntry.objects.exists()


def test_engine_keeps_the_entry_true_through_reschedule_and_cancel(
    booking, settings, django_capture_on_commit_callbacks
):
    settings.CHARTEROPS_FANOUT_TARGETS = {"calendar": CalendarTarget()}
    with django_capture_on_commit_callbacks(execute=True):
        engine.booking_fanout_request(booking)
    with django_capture_on_commit_callbacks(execute=True):
        booking_update(
            booking, start=booking.start + timedelta(days=1), end=booking.end + timedelta(days=1)
        )
    entry = CalendarEntry.objects.get(booking=booking)
    assert (entry.start, entry.sequence, entry.cancelled) == (booking.start, 1, False)

    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking)
    entry.refresh_from_db()
    assert (entry.sequence, entry.cancelled) == (2, True)
    state = TargetState.objects.get(booking=booking, target="calendar")
    assert (state.status, state.external_ref) == ("done", entry.uid)


def test_the_google_backend_keeps_the_local_entry_too_so_the_feed_works(settings):
    fake = InMemoryCalendarClient()
    google_target(settings, fake)
    booking = BookingFactory()
    result = CalendarTarget(client=fake).sync(booking, state=None)
    assert result.detail["backend"] == "google"
    assert CalendarEntry.objects.filter(booking=booking, cancelled=False).exists()
    assert list(fake.events) == [result.external_ref]
