"""Concurrency of the one upsert on PostgreSQL: the same booking from two sources at once,
and a cancellation racing an update, end as the last snapshot says, with no error."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from django.db import connection, transaction
from django.test import Client

from bookings.intake import booking_payload_parse, booking_upsert_from_event
from bookings.models import Booking
from charterops.models import AuditEvent

from .intake_support import booking_of
from .test_webhook_concurrency import _at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and concurrent unique checks need PostgreSQL (the CI PG pass runs this)",
    ),
]
T0 = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def worker_apply(booking: dict, *, event_id: str, event_type: str, at: datetime) -> str:
    """What a drain does with one delivery: the upsert in its own outermost transaction."""
    with transaction.atomic(durable=True):
        return booking_upsert_from_event(
            "boatsetter",
            booking_payload_parse(booking),
            occurred_at=at,
            event_id=event_id,
            event_type=event_type,
            via="webhook",
        ).outcome


def api_post(booking: dict, token: str) -> int:
    response = Client().post(
        "/api/bookings/?source=boatsetter",
        data=json.dumps(booking),
        content_type="application/json",
        headers={"X-Dashboard-Token": token},
    )
    return response.status_code


@pytest.mark.usefixtures("queen")
def test_the_same_booking_from_the_webhook_and_the_api_at_once_is_one_booking(api_token):
    booking = booking_of("booking_created__confirmed")
    calls = [
        partial(worker_apply, booking, event_id="evt_1", event_type="booking.created", at=T0),
        partial(worker_apply, booking, event_id="evt_1", event_type="booking.created", at=T0),
        partial(api_post, booking, api_token),
        partial(api_post, booking, api_token),
    ]
    results = _at_once(calls)
    assert len(results) == 4  # no call raised
    creations = sum(1 for r in results if r in ("created", 201))
    assert creations == 1, results  # exactly one of them created it, whichever
    assert all(r in ("created", "unchanged", "stale", 200, 201) for r in results), results
    assert Booking.objects.count() == 1
    # the booking was created once; the others found it and changed nothing
    assert AuditEvent.objects.filter(action="bookings.booking.created").count() == 1
    assert not AuditEvent.objects.filter(action="bookings.booking.updated").exists()


@pytest.mark.usefixtures("queen")
@pytest.mark.parametrize("newer", ["cancellation", "update"])
def test_a_cancellation_racing_an_update_ends_as_the_later_snapshot(newer):
    created = booking_of("booking_created__confirmed")
    worker_apply(created, event_id="evt_0", event_type="booking.created", at=T0)
    for round_ in range(4):  # a few races, so the interleaving differs between them
        base = T0 + timedelta(hours=round_ + 1)
        update = {**created, "meeting_point": f"Dock U{round_}", "party_size": 8}
        cancel = {**created, "meeting_point": f"Dock C{round_}", "status": "cancelled"}
        at_update, at_cancel = (base, base + timedelta(minutes=1))
        if newer == "update":
            at_update, at_cancel = at_cancel, at_update
        results = _at_once(
            [
                partial(
                    worker_apply,
                    update,
                    event_id=f"u{round_}",
                    event_type="booking.updated",
                    at=at_update,
                ),
                partial(
                    worker_apply,
                    cancel,
                    event_id=f"c{round_}",
                    event_type="booking.cancelled",
                    at=at_cancel,
                ),
            ]
        )
        assert len(results) == 2
        booking = Booking.objects.get()
        if newer == "cancellation":
            assert (booking.status, booking.meeting_point) == ("cancelled", f"Dock C{round_}")
        else:
            assert (booking.status, booking.meeting_point) == ("confirmed", f"Dock U{round_}")
            assert booking.party_size == 8
