"""The record on the staff side: the booking page's record and PDFs, the boat's readings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from crew.voyage.models import BoatUpkeep, VoyageRecord
from crew.voyage.records import voyage_departure_record, voyage_return_record
from tests import factories

pytestmark = pytest.mark.django_db


def recorded_charter(boat, *, start_in_days: int, hours_out: str, hours_in: str, damage=False):
    assignment = factories.CrewAssignmentFactory(
        booking__boat=boat,
        booking__start=factories.BookingFactory.start.function() + timedelta(days=start_in_days),
        role="captain",
    )
    assignment.booking.end = assignment.booking.start + timedelta(hours=4)
    assignment.booking.save()
    voyage_departure_record(
        assignment, fuel="90", engine_hours=hours_out, headcount=4, orientation_given=True
    )
    voyage_return_record(
        assignment,
        fuel="40",
        engine_hours=hours_in,
        damage=damage,
        damage_notes="Dented rail" if damage else "",
    )
    return assignment.booking


class TestBookingPage:
    def test_shows_the_record_and_every_pdf_version(
        self, superuser_client, django_capture_on_commit_callbacks
    ):
        boat = factories.BoatFactory(name="Jada")
        with django_capture_on_commit_callbacks(execute=True):
            booking = recorded_charter(boat, start_in_days=0, hours_out="100", hours_in="104.5")
        with django_capture_on_commit_callbacks(execute=True):
            voyage_return_record(
                booking.assignments.get(), fuel="45", engine_hours="104.6", damage=False
            )
        page = superuser_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
        body = page.content.decode()
        assert "Departure and return" in body
        assert "100 h" in body and "104.6 h" in body
        assert 'data-record-version="1"' in body and 'data-record-version="2"' in body
        pdf = superuser_client.get(
            reverse("admin:bookings_booking_voyage_document", args=[booking.pk, 1])
        )
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")

    def test_the_pdf_is_for_staff_only(self, client, booking):
        url = reverse("admin:bookings_booking_voyage_document", args=[booking.pk, 1])
        assert client.get(url).status_code == 302  # to the admin login

    def test_a_booking_without_a_record_says_so(self, superuser_client, booking):
        body = superuser_client.get(
            reverse("admin:bookings_booking_change", args=[booking.pk])
        ).content.decode()
        assert "Nothing recorded yet" in body


class TestBoatPage:
    def test_readings_history_and_the_service_warning(self, superuser_client):
        boat = factories.BoatFactory(name="Queen")
        BoatUpkeep.objects.create(
            boat=boat,
            service_interval_hours=Decimal("100"),
            last_service_engine_hours=Decimal("1000"),
        )
        first = recorded_charter(boat, start_in_days=0, hours_out="1090", hours_in="1096")
        second = recorded_charter(boat, start_in_days=2, hours_out="1096", hours_in="1103.5")
        page = superuser_client.get(reverse("admin:bookings_boat_change", args=[boat.pk]))
        body = page.content.decode()
        assert "1096" in body and "1103.5" in body and "7.5" in body
        assert f'data-service-crossed="{second.pk}"' in body
        assert f'data-service-crossed="{first.pk}"' not in body
        assert 'data-service-status="due"' in body
        assert "Service due: engine hours 1103.5 reached the service at 1100 h" in body

    def test_no_warning_before_the_interval(self, superuser_client):
        boat = factories.BoatFactory()
        BoatUpkeep.objects.create(boat=boat, service_interval_hours=Decimal("100"))
        recorded_charter(boat, start_in_days=0, hours_out="10", hours_in="14")
        body = superuser_client.get(
            reverse("admin:bookings_boat_change", args=[boat.pk])
        ).content.decode()
        assert 'data-service-status="ok"' in body and "86 h to go" in body

    def test_staff_set_the_service_interval_on_the_boat(self, superuser_client):
        boat = factories.BoatFactory(name="Jada", slug="jada", capacity=6)
        url = reverse("admin:bookings_boat_change", args=[boat.pk])
        form = {
            "name": "Jada",
            "slug": "jada",
            "external_id": "",
            "home_marina": "",
            "capacity": "6",
            "active": "on",
            "upkeep-TOTAL_FORMS": "1",
            "upkeep-INITIAL_FORMS": "0",
            "upkeep-MIN_NUM_FORMS": "0",
            "upkeep-MAX_NUM_FORMS": "1",
            "upkeep-0-time_zone": "America/Los_Angeles",
            "upkeep-0-fuel_unit": "gallons",
            "upkeep-0-tank_capacity": "180",
            "upkeep-0-service_interval_hours": "250",
            "upkeep-0-last_service_engine_hours": "1200",
        }
        response = superuser_client.post(url, form)
        assert response.status_code == 302, response.content.decode()[:2000]
        upkeep = BoatUpkeep.objects.get(boat=boat)
        assert (upkeep.fuel_unit, upkeep.service_interval_hours) == ("gallons", Decimal("250"))


def test_damage_shows_the_claim_deadline_counting_down(superuser_client):
    import time_machine

    boat = factories.BoatFactory()
    booking = recorded_charter(boat, start_in_days=0, hours_out="10", hours_in="14", damage=True)
    page = reverse("admin:bookings_booking_change", args=[booking.pk])
    returned = VoyageRecord.objects.get(booking=booking).returned_at
    deadline = min(returned, booking.end) + timedelta(hours=48)
    with time_machine.travel(deadline - timedelta(hours=5, minutes=30), tick=False):
        body = superuser_client.get(page).content.decode()
    assert "Claim due" in body and "5 h 30 min left to file the claim" in body
    with time_machine.travel(deadline + timedelta(seconds=1), tick=False):
        body = superuser_client.get(page).content.decode()
    assert "the claim window has CLOSED" in body
