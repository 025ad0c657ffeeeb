"""The booking domain functions: validation, version bumps, audit rows."""

import pytest
from django.core.exceptions import ValidationError

from bookings.services import booking_cancel, booking_create, booking_update
from charterops.models import AuditEvent
from tests.factories import BookingFactory, booking_fields

pytestmark = pytest.mark.django_db


def test_create_writes_version_one_and_an_audit_row(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        booking = booking_create(**booking_fields())
    assert booking.version == 1
    assert AuditEvent.objects.filter(action="bookings.booking.created", booking=booking).exists()


def test_create_refuses_invalid_input_and_writes_nothing():
    with pytest.raises(ValidationError) as exc:
        booking_create(**booking_fields(party_size=40))
    assert "party_size" in exc.value.message_dict
    assert not AuditEvent.objects.exists()


def test_material_change_bumps_version_once_and_is_audited(django_capture_on_commit_callbacks):
    booking = BookingFactory()
    with django_capture_on_commit_callbacks(execute=False):
        diff = booking_update(booking, meeting_point="Dock D")
    assert diff == {"meeting_point": ["Harbor Island West Marina, dock C", "Dock D"]}
    assert booking.version == 2
    event = AuditEvent.objects.get(action="bookings.booking.updated")
    assert event.data["changes"]["meeting_point"][1] == "Dock D"
    with django_capture_on_commit_callbacks(execute=False):
        assert booking_update(booking, meeting_point="Dock D") == {}
    booking.refresh_from_db()
    assert booking.version == 2


def test_a_money_change_keeps_the_version_but_is_audited_as_not_material(
    django_capture_on_commit_callbacks,
):
    booking = BookingFactory()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert booking_update(booking, boat_price="1000.00") == {
            "boat_price": ["950.00", "1000.00"]
        }
    booking.refresh_from_db()
    assert booking.version == 1 and not queued  # nothing outside shows the price
    assert str(booking.boat_price) == "1000.00"
    row = AuditEvent.objects.get(booking=booking, action="bookings.booking.updated")
    assert row.data["changes"] == {"boat_price": ["950.00", "1000.00"]}
    assert row.data["material"] is False


def test_the_same_price_as_text_is_no_change(django_capture_on_commit_callbacks):
    booking = BookingFactory()
    assert booking_update(booking, boat_price="950.00") == {}
    assert not AuditEvent.objects.filter(action="bookings.booking.updated").exists()


def test_cancel_is_audited_and_happens_once(django_capture_on_commit_callbacks):
    booking = BookingFactory()
    with django_capture_on_commit_callbacks(execute=False):
        assert booking_cancel(booking, reason="guest asked") is True
        assert booking_cancel(booking) is False
    assert booking.status == "cancelled"
    (row,) = AuditEvent.objects.filter(booking=booking).exclude(action="bookings.booking.created")
    assert row.action == "bookings.booking.cancelled"
    assert row.data["reason"] == "guest asked"
    assert row.data["changes"] == {"status": ["confirmed", "cancelled"]}
    assert row.data["material"] is True
