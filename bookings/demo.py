"""A believable small charter company for the demo: boats, crew, checklist, a dozen bookings.

The hub loads its boats and bookings; every other app adds its part (crew: members, the
checklist template, each charter's crew, the departure and return record) through a
``DemoPart`` registered from its own ``demo.py``, found the way the admin finds ``admin.py``
(``autodiscover_modules("demo")``): bookings imports no spoke.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from .models import Boat, Booking
from .services import booking_create

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


class DemoPart:
    """One app's part of the demo company; a new instance for each load, so it may keep
    what ``before_bookings`` made for ``booking_created``. Each step must be idempotent."""

    def before_bookings(self, boats: list[Boat]) -> None:
        """Runs after the boats exist, before any booking is created."""

    def booking_created(self, booking: Booking, index: int) -> None:
        """Runs after each new demo booking (``index`` is its place in the guest list)."""

    def after_bookings(self) -> None:
        """Runs after the bookings, before the admin login."""


DEMO_PARTS: dict[str, Callable[[], DemoPart]] = {}


def demo_part_register(key: str, part: Callable[[], DemoPart]) -> None:
    """Register (or replace, by key) an app's part of the demo. Called from its ``demo.py``."""
    DEMO_PARTS[key] = part


@transaction.atomic
def demo_load(*, password: str | None = None) -> tuple[str, str | None]:
    """Create the demo company. Idempotent: existing rows (by natural key) are left as they are.

    Returns (admin username, the password if this call set it, else None).
    """
    autodiscover_modules("demo")
    parts = [make() for _, make in sorted(DEMO_PARTS.items())]
    User = get_user_model()
    boats = [Boat.objects.get_or_create(slug=b["slug"], defaults=b)[0] for b in BOATS]
    for part in parts:
        part.before_bookings(boats)

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
        for part in parts:
            part.booking_created(booking, i)

    for part in parts:
        part.after_bookings()

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
