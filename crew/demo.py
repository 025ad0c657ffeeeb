"""Crew's part of the demo company: members, the checklist template, each charter's crew, and
one completed charter's departure and return record (``bookings.demo`` finds this module)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model

from bookings.demo import DemoPart, demo_part_register
from bookings.models import Boat, Booking
from bookings.services import booking_touch

from .models import (
    ChecklistTemplate,
    ChecklistTemplateItem,
    CrewAssignment,
    CrewMember,
    Phase,
    Role,
)

CREW = [
    ("Marco Vidal", "marco@example.com", "+16195550101", ["captain"], "email"),
    ("Lena Park", "lena@example.com", "+16195550102", ["captain", "first_mate"], "email"),
    ("Sam Okafor", "sam@example.com", "+16195550103", ["first_mate", "deckhand"], "sms"),
    ("Rosa Delgado", "rosa@example.com", "+16195550104", ["deckhand"], "email"),
    ("Theo Brandt", "theo@example.com", "+16195550105", ["deckhand", "steward"], "email"),
    ("Ivy Chen", "ivy@example.com", "+16195550106", ["steward"], "email"),
]
CHECKLIST = [
    (Phase.PRE, "Fuel check (tanks at least 3/4)", True),
    (Phase.PRE, "Supply inventory: water, ice, towels, snacks", True),
    (Phase.PRE, "Life jackets counted for the party and crew", True),
    (Phase.PRE, "Engine, bilge and VHF radio checked", True),
    (Phase.PRE, "Guest safety briefing given", True),
    (Phase.PRE, "Weather and small-craft advisories checked", False),
    (Phase.POST, "Boat rinsed and trash removed", True),
    (Phase.POST, "Fuel level logged", True),
    (Phase.POST, "Damage or maintenance issues reported", False),
]


class CrewDemo(DemoPart):
    """The checklist template and members come first: a confirmed booking copies the
    template when it is created."""

    def __init__(self) -> None:
        self.members: list[CrewMember] = []

    def before_bookings(self, boats: list[Boat]) -> None:
        User = get_user_model()
        template, created = ChecklistTemplate.objects.get_or_create(
            boat=None, name="Default checklist"
        )
        if created:
            for position, (phase, text, required) in enumerate(CHECKLIST):
                ChecklistTemplateItem.objects.create(
                    template=template, phase=phase, text=text, required=required, position=position
                )
        for name, email, phone, roles, channel in CREW:
            user, _ = User.objects.get_or_create(
                username=email.split("@")[0], defaults={"email": email, "first_name": name}
            )
            member, _ = CrewMember.objects.get_or_create(
                user=user,
                defaults={
                    "name": name,
                    "email": email,
                    "phone": phone,
                    "roles": roles,
                    "notify_by": channel,
                },
            )
            self.members.append(member)

    def booking_created(self, booking: Booking, index: int) -> None:
        crew = [
            (self.members[index % 2], Role.CAPTAIN, Decimal("250.00")),
            (self.members[2 + index % 4], Role.DECKHAND, Decimal("150.00")),
        ]
        for member, role, pay in crew:
            CrewAssignment.objects.create(booking=booking, member=member, role=role, pay=pay)
        booking_touch(booking, reason="crew_changed", data={"via": "demo"})

    def after_bookings(self) -> None:
        from .voyage.demo import demo_voyage_record

        demo_voyage_record()  # one completed charter with its departure, return and record PDF


demo_part_register("crew", CrewDemo)
