"""Crew and guest phone numbers are validated and stored in E.164 (SNS sends SMS only there)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.forms import modelform_factory

from bookings.models import Booking
from charterops.phones import MESSAGE, phone_normalize
from crew.models import CrewMember
from tests.factories import BookingFactory, CrewMemberFactory


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("(619) 555-0123", "+16195550123"),
        ("619.555.0123", "+16195550123"),
        ("+1 619 555 0123", "+16195550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("", ""),
    ],
)
def test_what_people_type_becomes_e164(typed, stored):
    assert phone_normalize(typed) == stored


@pytest.mark.parametrize("typed", ["555", "call me", "+1 000 000 0000", "001-555-123-4567x890"])
def test_what_cannot_receive_a_text_is_refused_with_a_sentence(typed):
    with pytest.raises(ValidationError) as refused:
        phone_normalize(typed)
    assert refused.value.messages == [MESSAGE]


@pytest.mark.django_db
def test_the_crew_member_form_shows_a_clear_error_and_stores_e164():
    form_class = modelform_factory(CrewMember, fields=["phone"])
    member = CrewMemberFactory()
    bad = form_class(data={"phone": "619-555"}, instance=member)
    assert not bad.is_valid()
    assert bad.errors["phone"] == [MESSAGE]
    good = form_class(data={"phone": "(619) 555-0142"}, instance=member)
    assert good.is_valid(), good.errors
    good.save()
    member.refresh_from_db()
    assert member.phone == "+16195550142"


@pytest.mark.django_db
def test_every_save_stores_e164_where_the_number_can_be_read():
    booking = BookingFactory(guest_phone="619 555 0177")
    booking.refresh_from_db()
    assert booking.guest_phone == "+16195550177"
    odd = BookingFactory(guest_phone="ask the marina")  # intake never fails on a phone
    odd.refresh_from_db()
    assert odd.guest_phone == "ask the marina"


@pytest.mark.django_db
def test_the_data_migration_normalises_existing_values_it_can_read():
    import importlib

    migration = importlib.import_module("crew.migrations.0008_phones_e164")
    member, booking = CrewMemberFactory(), BookingFactory()
    CrewMember.objects.filter(pk=member.pk).update(phone="(619) 555-0150")  # as stored before
    Booking.objects.filter(pk=booking.pk).update(guest_phone="not a number")
    migration.phones_normalize(apps, None)
    member.refresh_from_db()
    booking.refresh_from_db()
    assert member.phone == "+16195550150"
    assert booking.guest_phone == "not a number"  # kept for staff to fix
