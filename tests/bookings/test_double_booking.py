"""Boat double booking: flagged when the second booking is applied, never refused at intake."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bookings.intake import booking_payload_parse, booking_upsert_from_event
from bookings.models import Booking
from bookings.services import booking_cancel, booking_update
from tests.factories import BookingFactory

from .intake_support import booking_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def first(queen):
    payload = booking_payload_parse(booking_of("booking_created__confirmed"))
    return booking_upsert_from_event("direct", payload, via="admin").booking


def marketplace_booking_at(start: str, end: str):
    data = booking_of("booking_created__confirmed", id="BS-OTHER", start=start, end=end)
    return booking_upsert_from_event("boatsetter", booking_payload_parse(data), via="webhook")


def test_an_overlapping_marketplace_booking_is_applied_and_both_are_flagged(first):
    result = marketplace_booking_at("2026-12-05T12:00:00-08:00", "2026-12-05T16:00:00-08:00")
    assert result.outcome == "created"  # never refused: it is a fact to handle
    first.refresh_from_db()
    assert result.booking.double_booked and first.double_booked


def test_back_to_back_charters_are_not_a_double_booking(first):
    result = marketplace_booking_at("2026-12-05T14:00:00-08:00", "2026-12-05T18:00:00-08:00")
    first.refresh_from_db()
    assert not result.booking.double_booked and not first.double_booked


def test_moving_or_cancelling_one_clears_both_flags(first):
    other = marketplace_booking_at("2026-12-05T12:00:00-08:00", "2026-12-05T16:00:00-08:00").booking
    booking_update(other, start=other.start + timedelta(days=1), end=other.end + timedelta(days=1))
    first.refresh_from_db()
    assert not other.double_booked and not first.double_booked
    booking_update(other, start=first.start, end=first.end)
    first.refresh_from_db()
    assert first.double_booked
    booking_cancel(other, reason="sold twice")
    first.refresh_from_db()
    assert not first.double_booked and not other.double_booked


def test_the_admin_warns_badges_and_lists_it(superuser_client, first):
    other = marketplace_booking_at("2026-12-05T12:00:00-08:00", "2026-12-05T16:00:00-08:00").booking
    BookingFactory(boat=first.boat, guest_name="Someone Else")  # another day, not flagged
    page = superuser_client.get(f"/admin/bookings/booking/{first.pk}/change/")
    warnings = [str(m) for m in page.context["messages"]]
    assert any("double-booked" in w and other.reference in w for w in warnings)
    attention = superuser_client.get("/admin/bookings/booking/?double_booked=yes")
    shown = {b.pk for b in attention.context["cl"].result_list}
    assert shown == {first.pk, other.pk}
    assert attention.text.count(">double-booked</span>") == 2
    assert Booking.objects.filter(double_booked=True).count() == 2
