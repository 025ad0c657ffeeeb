"""Whatever order a booking's emails arrive and are applied in, duplicates included, the
booking ends as its latest email says (a hypothesis property over arrival orders)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookings.intake.mail.models import InboundEmail
from bookings.intake.mail.proposals import ProposalClosed, proposal_apply
from bookings.intake.mail.sources import inbound_email_receive
from bookings.models import Booking
from tests.bookings.email_support import eml

pytestmark = pytest.mark.django_db
#: one booking's emails, oldest first by when Boatsetter sent them (the forward quotes Jan 11)
EMAILS = [
    "boatsetter__request__expires",
    "boatsetter__confirmed__both_parts",
    "boatsetter__confirmed__forwarded",
    "boatsetter__changed__new_time",
    "boatsetter__cancelled__by_renter",
]
runs = itertools.count(1)


def arrive(name: str, run: int) -> InboundEmail:
    """The email as if for a booking of its own in this run (examples share the database)."""
    raw = eml(name).replace(b"BS-4839215", f"BS-{run:07d}".encode())
    raw = raw.replace(b"Message-ID: <", f"Message-ID: <run{run}.".encode())
    return inbound_email_receive(raw, via="import", label=name).email


@settings(
    max_examples=25,
    deadline=timedelta(seconds=5),
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    order=st.permutations(range(len(EMAILS))),
    again=st.lists(st.integers(0, len(EMAILS) - 1), max_size=3),
)
def test_the_booking_ends_as_its_latest_email_says(queen, staff_user, order, again):
    run = next(runs)
    for index in [*order, *again]:
        email = arrive(EMAILS[index], run)
        try:
            proposal_apply(email, actor=staff_user)
        except ProposalClosed:
            assert email.status in ("applied", "stale")  # a duplicate of one decided already

    booking = Booking.objects.get(source="boatsetter", external_id=f"BS-{run:07d}")
    assert booking.status == "cancelled"
    assert booking.local_start.hour == 13 and booking.guest_name == "Ana Ruiz"
    assert booking.last_event_id.startswith(f"<run{run}.cxl.")
