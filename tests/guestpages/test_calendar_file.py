"""The guest page's "Add to my calendar": SEQUENCE follows the booking, DTSTAMP the change."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import icalendar
import pytest
import time_machine
from django.core.files.storage import storages
from django.utils import timezone

from bookings.services import booking_update
from guestpages.models import GuestPage
from guestpages.publishing import guest_page_key, guest_page_publish
from tests.factories import BookingFactory

pytestmark = pytest.mark.django_db


def event_of(page: GuestPage) -> icalendar.Event:
    html = storages["guestpages"].open(guest_page_key(page)).read().decode()
    (href,) = re.findall(r'href="(data:text/calendar[^"]+)"', html)
    calendar = icalendar.Calendar.from_ical(unquote(href.split(",", 1)[1].replace("&amp;", "&")))
    (event,) = calendar.walk("VEVENT")
    return event


def test_a_changed_booking_gives_a_newer_sequence_and_stamp_and_the_same_uid():
    monday = timezone.make_aware(timezone.datetime(2026, 12, 7, 9, 0))
    with time_machine.travel(monday, tick=False):
        booking = BookingFactory(
            start=monday + timedelta(days=5), end=monday + timedelta(days=5, hours=4)
        )
        first = guest_page_publish(booking)
    before = event_of(first.page)
    assert int(before["sequence"]) == booking.version == 1
    assert before.decoded("dtstamp") == monday

    with time_machine.travel(monday + timedelta(hours=3), tick=False):
        again = guest_page_publish(booking)  # the same version, rendered later
    assert not again.uploaded  # same bytes: the stamp is the version's, not the render's

    with time_machine.travel(monday + timedelta(days=1), tick=False):
        booking_update(
            booking, start=booking.start + timedelta(hours=2), end=booking.end + timedelta(hours=2)
        )
        changed = guest_page_publish(booking)
    after = event_of(changed.page)
    assert changed.uploaded
    assert str(after["uid"]) == str(before["uid"])
    assert int(after["sequence"]) == booking.version == 2
    assert after.decoded("dtstamp") == monday + timedelta(days=1)
    assert after.decoded("dtstart") == booking.start
