"""A believable small charter company for the demo: boats, crew, checklist, a dozen bookings."""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from crew.models import (
    ChecklistTemplate,
    ChecklistTemplateItem,
    CrewAssignment,
    CrewMember,
    Phase,
    Role,
)

from .models import Boat, Booking
from .services import booking_create, booking_touch

BOATS = [
    {
        "slug": "queen-of-san-diego",
        "name": "Queen of San Diego",
        "external_id": "b-77",
        "home_marina": "Harbor Island West Marina, dock C",
        "capacity": 12,
    },
    {
        "slug": "jada",
        "name": "Jada",
        "external_id": "b-12",
        "home_marina": "Shelter Island, Kona Kai Marina",
        "capacity": 6,
    },
]
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
GUESTS = [
    ("Ana Ruiz", 6),
    ("David Kim", 4),
    ("Priya Natarajan", 8),
    ("Tom Becker", 2),
    ("Chloe Martin", 5),
    ("Jorge Alvarez", 10),
    ("Emily Walsh", 3),
    ("Kenji Sato", 6),
    ("Fatima Haddad", 4),
    ("Owen Murphy", 12),
    ("Grace Liu", 2),
    ("Noah Fischer", 6),
]


@transaction.atomic
def demo_load(*, password: str | None = None) -> tuple[str, str | None]:
    """Create the demo company. Idempotent: existing rows (by natural key) are left as they are.

    Returns (admin username, the password if this call set it, else None).
    """
    User = get_user_model()
    boats = [Boat.objects.get_or_create(slug=b["slug"], defaults=b)[0] for b in BOATS]
    template, created = ChecklistTemplate.objects.get_or_create(boat=None, name="Default checklist")
    if created:
        for position, (phase, text, required) in enumerate(CHECKLIST):
            ChecklistTemplateItem.objects.create(
                template=template, phase=phase, text=text, required=required, position=position
            )
    members = []
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
        members.append(member)

    today = timezone.localdate()
    for i, (guest, party) in enumerate(GUESTS):
        external_id = f"BS-48{21000 + i * 37}"
        if Booking.objects.filter(source="boatsetter", external_id=external_id).exists():
            continue
        boat = boats[i % 2]
        day = today + timedelta(days=(i - 5) * 2)
        start = timezone.make_aware(datetime.combine(day, time(9 + (i % 3) * 2, 0)))
        hours = 3 + i % 3
        status = Booking.Status.CONFIRMED
        if i == 11:
            status = Booking.Status.PENDING
        elif i == 3:
            status = Booking.Status.CANCELLED
        elif start < timezone.now() - timedelta(days=1):
            status = Booking.Status.COMPLETED
        price = Decimal(450 + 125 * hours)
        booking = booking_create(
            via="demo",
            source="boatsetter",
            external_id=external_id,
            status=status,
            boat=boat,
            start=start,
            end=start + timedelta(hours=hours),
            meeting_point=boat.home_marina,
            guest_name=guest,
            guest_email=f"{guest.split()[0].lower()}@example.com",
            guest_phone=f"+1619555{1000 + i:04d}",
            party_size=min(party, boat.capacity),
            captain_required=True,
            special_requests="Birthday on board" if i % 4 == 0 else "",
            boat_price=price,
            service_fee=(price * Decimal("0.10")).quantize(Decimal("0.01")),
            captain_fee=Decimal("200.00"),
            owner_payout=(price * Decimal("0.90")).quantize(Decimal("0.01")),
        )
        crew = [
            (members[i % 2], Role.CAPTAIN, Decimal("250.00")),
            (members[2 + i % 4], Role.DECKHAND, Decimal("150.00")),
        ]
        for member, role, pay in crew:
            CrewAssignment.objects.create(booking=booking, member=member, role=role, pay=pay)
        booking_touch(booking, reason="crew_changed", data={"via": "demo"})

    from crew.voyage.demo import demo_voyage_record

    demo_voyage_record()  # one completed charter with its departure, return and record PDF

    admin_user = User.objects.filter(username="admin").first()
    new_password = None
    if admin_user is None:
        admin_user = User.objects.create_superuser("admin", "admin@example.com", None)
        new_password = password or secrets.token_urlsafe(12)
    elif password and not admin_user.check_password(password):
        new_password = password
    if new_password:
        admin_user.set_password(new_password)
        admin_user.save()
    admin_user.groups.add(*Group.objects.filter(name="Operations"))
    return admin_user.username, new_password
