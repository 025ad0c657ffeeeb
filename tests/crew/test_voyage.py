"""The departure and return record: what crew record, what is refused, and the record PDF."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from bookings.photos.models import Photo
from charterops.models import AuditEvent
from crew.voyage.documents import voyage_document_bytes
from crew.voyage.models import BoatUpkeep, VoyageDocument, VoyagePhoto, VoyageRecord
from crew.voyage.records import (
    RecordRefused,
    voyage_departure_record,
    voyage_return_record,
)
from tests import factories
from tests.browser.test_crew_portal_browser import tiny_png
from tests.crew.portal_helpers import open_as

pytestmark = pytest.mark.django_db

# 10:00 Pacific daylight time on a July charter day.
DEPARTURE = datetime(2026, 7, 14, 17, 2, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _charter_morning():
    """Every test runs on the charter's morning (links and photo uploads are open)."""
    with time_machine.travel(DEPARTURE - timedelta(hours=1)):
        yield


@pytest.fixture
def captain():
    boat = factories.BoatFactory(name="Queen of San Diego", capacity=12)
    booking = factories.BookingFactory(
        boat=boat,
        guest_name="Ana Ruiz",
        party_size=6,
        start=datetime(2026, 7, 14, 17, 0, tzinfo=UTC),
        end=datetime(2026, 7, 14, 21, 0, tzinfo=UTC),
    )
    return factories.CrewAssignmentFactory(
        booking=booking, role="captain", member__name="Marco Vidal"
    )


def depart(assignment, **overrides):
    values = {
        "fuel": "90",
        "engine_hours": "1520.4",
        "headcount": 6,
        "orientation_given": True,
        "condition": "Scuff on port bow (old)",
        **overrides,
    }
    return voyage_departure_record(assignment, **values)


def come_back(assignment, **overrides):
    values = {
        "fuel": "55",
        "engine_hours": "1524.1",
        "condition": "Clean",
        "damage": False,
        "damage_notes": "",
        **overrides,
    }
    return voyage_return_record(assignment, **values)


def pdf_text(document: VoyageDocument) -> str:
    reader = PdfReader(io.BytesIO(voyage_document_bytes(document)))
    return "\n".join(page.extract_text() for page in reader.pages)


class TestDeparture:
    def test_records_readings_with_the_servers_clock_and_an_audit_row(self, captain):
        with time_machine.travel(DEPARTURE, tick=False):
            record = depart(captain)
        record.refresh_from_db()
        assert record.departed_at == DEPARTURE
        assert record.departed_by == captain.member
        assert (record.fuel_out, record.engine_hours_out) == (Decimal("90.0"), Decimal("1520.4"))
        assert (record.headcount, record.headcount_expected) == (6, 6)
        assert record.orientation_given is True
        event = AuditEvent.objects.get(action="crew.voyage.departed")
        assert event.booking_id == captain.booking_id
        assert event.data["changes"]["engine_hours_out"] == [None, "1520.4"]

    def test_the_safety_orientation_is_required(self, captain):
        with pytest.raises(ValidationError) as refused:
            depart(captain, orientation_given=False)
        assert "orientation" in refused.value.message_dict["orientation_given"][0]
        assert not VoyageRecord.objects.exists()

    @pytest.mark.parametrize("fuel", ["-1", "100.1", "lots"])
    def test_fuel_is_a_percentage_of_the_tank(self, captain, fuel):
        with pytest.raises(ValidationError) as refused:
            depart(captain, fuel=fuel)
        assert "fuel_out" in refused.value.message_dict

    def test_fuel_in_gallons_is_checked_against_the_tank(self, captain):
        BoatUpkeep.objects.create(
            boat=captain.booking.boat, fuel_unit="gallons", tank_capacity=Decimal("180")
        )
        assert depart(captain, fuel="150").fuel_out == Decimal("150.0")
        with pytest.raises(ValidationError, match="between 0 and 180 gallons"):
            depart(captain, fuel="181")

    def test_more_guests_than_the_boat_carries_are_refused(self, captain):
        with pytest.raises(ValidationError, match="at most 12 guests"):
            depart(captain, headcount=13)

    def test_a_headcount_differing_from_the_party_is_kept_and_shown(self, captain):
        record = depart(captain, headcount=5)
        assert (record.headcount, record.headcount_expected) == (5, 6)

    def test_engine_hours_never_go_down_across_the_boats_charters(self, captain):
        earlier = factories.CrewAssignmentFactory(
            booking__boat=captain.booking.boat,
            booking__start=captain.booking.start - timedelta(days=2),
            booking__end=captain.booking.start - timedelta(days=2, hours=-4),
        )
        depart(earlier, engine_hours="1500")
        come_back(earlier, engine_hours="1530.5")
        with pytest.raises(ValidationError, match="already logged 1530.5"):
            depart(captain, engine_hours="1520.4")
        assert depart(captain, engine_hours="1530.5").engine_hours_out == Decimal("1530.5")

    def test_a_correction_of_an_older_charter_cannot_exceed_a_later_one(self, captain):
        earlier = factories.CrewAssignmentFactory(
            booking__boat=captain.booking.boat,
            booking__start=captain.booking.start - timedelta(days=2),
            booking__end=captain.booking.start - timedelta(days=2, hours=-4),
        )
        depart(earlier, engine_hours="1500")
        depart(captain, engine_hours="1520.4")
        with pytest.raises(ValidationError, match="above the 1520.4 logged on a later"):
            come_back(earlier, engine_hours="1521")

    def test_another_boats_hours_do_not_matter(self, captain):
        other = factories.CrewAssignmentFactory()
        depart(other, engine_hours="9000")
        assert depart(captain, engine_hours="10").engine_hours_out == Decimal("10.0")

    def test_a_second_departure_is_a_correction_that_keeps_the_time(self, captain):
        with time_machine.travel(DEPARTURE, tick=False):
            depart(captain)
        with time_machine.travel(DEPARTURE + timedelta(minutes=20), tick=False):
            record = depart(captain, fuel="88")
        assert record.departed_at == DEPARTURE and record.fuel_out == Decimal("88.0")
        assert AuditEvent.objects.filter(action="crew.voyage.departure_corrected").count() == 1

    def test_cancelled_or_declined_charters_cannot_be_recorded(self, captain):
        captain.response = "declined"
        with pytest.raises(RecordRefused, match="declined"):
            depart(captain)
        captain.response = "accepted"
        captain.booking.status = "cancelled"
        with pytest.raises(RecordRefused, match="cancelled"):
            depart(captain)


class TestReturn:
    def test_needs_the_departure_first(self, captain):
        with pytest.raises(RecordRefused, match="departure first"):
            come_back(captain)

    def test_engine_hours_at_return_cannot_be_below_departure(self, captain):
        depart(captain)
        with pytest.raises(ValidationError, match="1520.4 at departure"):
            come_back(captain, engine_hours="1519")

    def test_damage_needs_notes(self, captain):
        depart(captain)
        with pytest.raises(ValidationError) as refused:
            come_back(captain, damage=True)
        assert "damage_notes" in refused.value.message_dict

    def test_records_the_time_back_and_renders_the_record_pdf(
        self, captain, django_capture_on_commit_callbacks
    ):
        factories.CrewAssignmentFactory(
            booking=captain.booking, role="deckhand", member__name="Rosa Delgado"
        )
        depart(captain)
        back = DEPARTURE + timedelta(hours=4, minutes=7)
        with (
            time_machine.travel(back, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            record = come_back(captain)
        assert record.returned_at == back
        document = record.documents.get()
        assert (document.version, document.status) == (1, "done")
        assert storages["default"].exists(document.key)
        text = pdf_text(document)
        assert "Queen of San Diego" in text
        assert "1520.4" in text and "1524.1" in text and "90 %" in text and "55 %" in text
        assert "Marco Vidal" in text and "Captain" in text and "Rosa Delgado" in text
        assert "6 aboard, 6 expected" in text and "Given" in text
        assert "Tue Jul 14 2026, 2:09 PM PDT" in text  # time back on the boat's clock
        assert "Scuff on port bow (old)" in text
        assert mail.outbox == []  # no damage, no email
        assert AuditEvent.objects.filter(action="crew.voyage.returned").count() == 1

    def test_a_correction_makes_a_new_version_and_keeps_the_old(
        self, captain, django_capture_on_commit_callbacks
    ):
        depart(captain)
        with django_capture_on_commit_callbacks(execute=True):
            come_back(captain, engine_hours="1524.1")
        with django_capture_on_commit_callbacks(execute=True):
            come_back(captain, engine_hours="1525.0")
        with django_capture_on_commit_callbacks(execute=True):
            depart(captain, fuel="95")
        v3, v2, v1 = captain.booking.voyage.documents.all()
        assert [d.version for d in (v1, v2, v3)] == [1, 2, 3]
        assert len({v1.key, v2.key, v3.key}) == 3
        assert "1524.1" in pdf_text(v1) and "1525" not in pdf_text(v1)
        assert "1525" in pdf_text(v2)
        assert "95 %" in pdf_text(v3) and "95 %" not in pdf_text(v2)
        assert v3.reason == "departure corrected"

    def test_damage_is_mailed_to_operations_once_with_the_pdf(
        self, captain, settings, django_capture_on_commit_callbacks
    ):
        from crew.voyage.documents import voyage_document_mail, voyage_document_render

        settings.CHARTEROPS_OPERATIONS_EMAIL = "ops@example.com"
        depart(captain)
        with (
            time_machine.travel(DEPARTURE + timedelta(hours=4), tick=False),  # after the end
            django_capture_on_commit_callbacks(execute=True),
        ):
            record = come_back(captain, damage=True, damage_notes="Cracked swim ladder step")
        document = record.documents.get()
        assert document.mail_status == "sent"
        (message,) = mail.outbox
        assert message.to == ["ops@example.com"]
        assert "Damage reported" in message.subject and "Cracked swim ladder" in message.body
        assert "Boatsetter claim is due by Thu Jul 16, 2:00 PM PDT" in message.body
        (name, data, mimetype) = message.attachments[0]
        assert mimetype == "application/pdf" and data.startswith(b"%PDF")
        assert "DAMAGE REPORTED" in pdf_text(document)
        # A redelivered task or a second call sends nothing again.
        voyage_document_render(document.pk)
        assert voyage_document_mail(document) is False
        assert len(mail.outbox) == 1

    def test_photos_with_their_times_are_in_the_pdf(
        self, captain, django_capture_on_commit_callbacks
    ):
        from bookings.photos.uploads import photo_upload_direct

        def photo(name, width):
            upload = SimpleUploadedFile(name, tiny_png(width, 16), content_type="image/png")
            return photo_upload_direct(
                captain.booking, uploader="crew", file=upload, member=captain.member
            )

        with time_machine.travel(DEPARTURE, tick=False):
            depart(captain, photos=[photo("bow.png", 24)])
        with (
            time_machine.travel(DEPARTURE + timedelta(hours=4), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            record = come_back(captain, photos=[photo("stern.png", 30), photo("deck.png", 36)])
        stages = sorted(VoyagePhoto.objects.values_list("stage", flat=True))
        assert stages == ["departure", "return", "return"]
        text = " ".join(pdf_text(record.documents.get()).split())
        assert "Photos (3)" in text
        assert "Departure - Tue Jul 14 2026, 10:02 AM PDT - Marco Vidal" in text
        reader = PdfReader(io.BytesIO(voyage_document_bytes(record.documents.get())))
        assert sum(len(page.images) for page in reader.pages) == 3


class TestCrewPage:
    @pytest.fixture
    def member_client(self, client, captain):
        open_as(client, captain)
        return client

    def url(self, name, booking_id):
        return reverse(f"crew:{name}", args=[booking_id])

    def test_departure_then_return_without_javascript(
        self, member_client, captain, django_capture_on_commit_callbacks
    ):
        booking_id = captain.booking_id
        page = member_client.get(self.url("event", booking_id)).content.decode()
        assert "Record departure" in page and 'name="orientation_given"' in page
        response = member_client.post(
            self.url("voyage_departure", booking_id),
            {
                "fuel_out": "90",
                "engine_hours_out": "1520,4",
                "headcount": "6",
                "orientation_given": "on",
                "condition_out": "",
                "record_photos": [
                    SimpleUploadedFile("bow.png", tiny_png(), content_type="image/png")
                ],
            },
        )
        assert response.status_code == 302
        page = member_client.get(self.url("event", booking_id)).content.decode()
        assert "Record return" in page and "1520.4" in page
        with django_capture_on_commit_callbacks(execute=True):
            response = member_client.post(
                self.url("voyage_return", booking_id),
                {"fuel_in": "60", "engine_hours_in": "1523", "damage": "no"},
            )
        assert response.status_code == 302
        page = member_client.get(self.url("event", booking_id)).content.decode()
        assert "Record complete" in page and "Correct the return" in page
        record = VoyageRecord.objects.get(booking_id=booking_id)
        assert record.documents.get().status == "done"
        assert Photo.objects.get().voyage_tag.stage == "departure"

    def test_a_refused_form_comes_back_with_the_values_and_a_sentence(self, member_client, captain):
        response = member_client.post(
            self.url("voyage_departure", captain.booking_id),
            {"fuel_out": "90", "engine_hours_out": "1520", "headcount": "6"},
        )
        assert response.status_code == 400
        body = response.content.decode()
        assert "Give the safety orientation" in body
        assert 'value="1520"' in body
        assert not VoyageRecord.objects.exists()
        assert not Photo.objects.exists()
