"""Booking and boat rules the database and model validation enforce."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bookings.models import Booking
from tests.factories import BoatFactory, BookingFactory

pytestmark = pytest.mark.django_db


def test_a_booking_must_end_after_it_starts():
    booking = BookingFactory.build(boat=BoatFactory())
    booking.end = booking.start - timedelta(minutes=1)
    with pytest.raises(ValidationError, match="must end after it starts"):
        booking.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        booking.save()


def test_party_size_is_at_least_one_and_at_most_the_boat_capacity():
    boat = BoatFactory(capacity=6)
    booking = BookingFactory.build(boat=boat, party_size=7)
    with pytest.raises(ValidationError) as exc:
        booking.full_clean()
    assert "carries at most 6 guests" in str(exc.value.message_dict["party_size"])
    booking.party_size = 0
    with pytest.raises(IntegrityError), transaction.atomic():
        booking.save()


def test_external_id_is_unique_per_source_but_may_repeat_across_sources():
    first = BookingFactory(external_id="BS-1")
    BookingFactory(external_id="BS-1", source=Booking.Source.OTHER, boat=first.boat)
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(external_id="BS-1", source=first.source, boat=first.boat)


def test_bookings_without_external_id_do_not_collide():
    BookingFactory(external_id="", source="direct")
    BookingFactory(external_id="", source="direct")
    assert Booking.objects.filter(external_id="").count() == 2


def test_times_are_stored_in_utc_and_shown_in_pacific_time():
    booking = BookingFactory()
    booking.refresh_from_db()
    assert booking.start.utcoffset() == timedelta(0)
    assert str(booking.local_start.tzinfo) == "America/Los_Angeles"
    assert booking.local_start.hour == 10


def test_money_is_decimal():
    booking = BookingFactory()
    booking.refresh_from_db()
    assert str(booking.boat_price) == "950.00"
    assert booking.boat_price - booking.owner_payout == booking.service_fee
