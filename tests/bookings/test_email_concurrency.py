"""Two people pressing Apply on one proposal at once (PostgreSQL, real threads): applied once."""

from __future__ import annotations

from functools import partial

import pytest
from django.db import connection

from bookings.intake.mail.models import InboundEmail
from bookings.intake.mail.proposals import ProposalClosed, proposal_apply
from bookings.intake.mail.sources import inbound_email_receive
from bookings.models import Booking
from charterops.models import AuditEvent

from .email_support import eml
from .test_webhook_concurrency import _at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks need PostgreSQL (the CI PG pass runs this)",
    ),
]


def press_apply(pk: int) -> str:
    try:
        return proposal_apply(InboundEmail.objects.get(pk=pk), actor=None).outcome
    except ProposalClosed:
        return "closed"


@pytest.mark.usefixtures("queen")
def test_applying_one_proposal_twice_at_once_applies_it_once():
    email = inbound_email_receive(
        eml("boatsetter__confirmed__both_parts"), via="import", label="x"
    ).email

    results = _at_once([partial(press_apply, email.pk) for _ in range(4)])

    assert sorted(results) == ["applied", "closed", "closed", "closed"]
    assert Booking.objects.count() == 1
    assert AuditEvent.objects.filter(action="bookings.inbound_email.applied").count() == 1
    assert AuditEvent.objects.filter(action="bookings.booking.created").count() == 1
