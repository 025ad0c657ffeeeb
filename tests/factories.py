"""factory_boy factories for every app's models."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from bookings.models import Boat, Booking
from crew.models import ChecklistTemplate, ChecklistTemplateItem, CrewAssignment, CrewMember


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class BoatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Boat

    name = factory.Sequence(lambda n: f"Boat {n}")
    slug = factory.Sequence(lambda n: f"boat-{n}")
    external_id = factory.Sequence(lambda n: f"b-{n}")
    home_marina = "Harbor Island West Marina, dock C"
    capacity = 12


class BookingFactory(factory.django.DjangoModelFactory):
    """A confirmed charter next week, 10:00–14:00 Pacific time. Created without fan-out."""

    class Meta:
        model = Booking

    source = Booking.Source.BOATSETTER
    external_id = factory.Sequence(lambda n: f"BS-{4821000 + n}")
    status = Booking.Status.CONFIRMED
    boat = factory.SubFactory(BoatFactory)
    start = factory.LazyFunction(
        lambda: (
            timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
            + timedelta(days=7)
        )
    )
    end = factory.LazyAttribute(lambda o: o.start + timedelta(hours=4))
    meeting_point = "Harbor Island West Marina, dock C"
    guest_name = factory.Faker("name")
    guest_email = factory.Faker("email")
    guest_phone = "+16195550100"
    party_size = 6
    boat_price = Decimal("950.00")
    service_fee = Decimal("95.00")
    captain_fee = Decimal("200.00")
    owner_payout = Decimal("855.00")


class CrewMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CrewMember

    user = factory.SubFactory(UserFactory)
    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda o: o.user.email)
    phone = "+16195550111"
    roles = factory.LazyFunction(lambda: ["deckhand"])


class CrewAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CrewAssignment

    booking = factory.SubFactory(BookingFactory)
    member = factory.SubFactory(CrewMemberFactory)
    role = "deckhand"
    pay = Decimal("150.00")


class ChecklistTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistTemplate

    name = "Default checklist"
    boat = None


class ChecklistTemplateItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistTemplateItem

    template = factory.SubFactory(ChecklistTemplateFactory)
    text = factory.Sequence(lambda n: f"Check item {n}")
    phase = "pre"
    required = True
    position = factory.Sequence(lambda n: n)


class NotificationFactory(factory.django.DjangoModelFactory):
    """A crew notification already sent about version 1 of a charter."""

    class Meta:
        model = "crew.Notification"

    booking = factory.SubFactory(BookingFactory)
    member = factory.SubFactory(CrewMemberFactory)
    booking_version = 1
    kind = "new"
    channel = "email"
    status = "sent"


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    """One item of a charter's checklist, not ticked yet."""

    class Meta:
        model = "crew.ChecklistItem"

    booking = factory.SubFactory(BookingFactory)
    phase = "pre"
    text = factory.Sequence(lambda n: f"Charter item {n}")
    required = True
    position = factory.Sequence(lambda n: n)


class ExpenseFactory(factory.django.DjangoModelFactory):
    """A supplies expense of an assigned member, not approved yet."""

    class Meta:
        model = "crew.Expense"

    booking = factory.SubFactory(BookingFactory)
    member = factory.SubFactory(CrewMemberFactory)
    kind = "supplies"
    amount = Decimal("25.00")


class PhotoFactory(factory.django.DjangoModelFactory):
    """A crew photo record (the object itself is not stored)."""

    class Meta:
        model = "bookings.Photo"

    booking = factory.SubFactory(BookingFactory)
    uploaded_by = "crew"
    key = factory.LazyAttributeSequence(lambda o, n: f"photos/{o.booking.pk}/crew/p{n}.jpg")
    content_type = "image/jpeg"
    size = 1024


def booking_fields(**overrides) -> dict:
    """Keyword arguments for ``bookings.services.booking_create``: an unsaved booking's fields
    (its boat is saved), so tests create bookings the way every entry point does."""
    boat = overrides.pop("boat", None) or BoatFactory()
    built = BookingFactory.build(boat=boat)
    skip = {"id", "version", "created_at", "updated_at", "last_event_at"}
    fields = {
        f.name: getattr(built, f.name) for f in built._meta.concrete_fields if f.name not in skip
    }
    fields["boat"] = boat
    fields.pop("boat_id", None)
    return {**fields, **overrides}
