"""Finding a booking from what an operator types (the fan-out CLI's argument)."""

import pytest
from django.core.management.base import CommandError

from bookings.lookup import booking_lookup
from tests.factories import BookingFactory

pytestmark = pytest.mark.django_db


def test_booking_lookup_by_id_source_and_external_id():
    booking = BookingFactory(external_id="BS-4821937")
    assert booking_lookup("boatsetter:BS-4821937") == booking
    assert booking_lookup(str(booking.pk)) == booking
    assert booking_lookup("BS-4821937") == booking


def test_booking_lookup_names_what_it_did_not_find():
    BookingFactory(external_id="BS-4821937")
    with pytest.raises(CommandError, match="No booking 'getmyboat:BS-4821937'"):
        booking_lookup("getmyboat:BS-4821937")
