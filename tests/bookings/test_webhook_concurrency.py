"""Concurrency on PostgreSQL: copies of one delivery have exactly one effect, the rest are
duplicates; several workers draining the queue apply each delivery once."""

import json
import threading
from collections.abc import Callable
from functools import partial

import pytest
from django.db import connection, connections
from django.test import Client

from bookings.models import Booking, WebhookDelivery
from charterops.models import AuditEvent

from .intake_support import load_event, post_signed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and concurrent unique checks need PostgreSQL (the CI PG pass runs this)",
    ),
]


def _at_once[T](calls: list[Callable[[], T]]) -> list[T]:
    """Run each call on a thread (and database connection) of its own, released together."""
    barrier = threading.Barrier(len(calls))
    results: list[T] = []
    lock = threading.Lock()

    def run(call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=10)
            result = call()
            with lock:
                results.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _post_concurrently(bodies: list[bytes]) -> list[int]:
    responses = _at_once([partial(post_signed, Client(), body) for body in bodies])
    return sorted(r.status_code for r in responses)


@pytest.mark.usefixtures("webhook_secrets", "queen")
def test_eight_concurrent_copies_of_one_event_have_exactly_one_effect():
    body = json.dumps(load_event("booking_created__confirmed")).encode()
    statuses = _post_concurrently([body] * 8)
    assert statuses == [200] * 7 + [202]
    assert Booking.objects.count() == 1
    assert WebhookDelivery.objects.filter(holds_event_key=True).count() == 1
    assert AuditEvent.objects.filter(action="bookings.booking.created").count() == 1
    outcomes = sorted(WebhookDelivery.objects.values_list("outcome", flat=True))
    assert outcomes == ["accepted"] + ["duplicate"] * 7


@pytest.mark.usefixtures("webhook_secrets", "queen")
def test_concurrent_created_and_updated_of_a_new_booking_make_one_booking():
    created = json.dumps(load_event("booking_created__confirmed")).encode()
    updated = json.dumps(load_event("booking_updated__new_time")).encode()
    statuses = _post_concurrently([created, updated])
    assert all(s in (200, 202) for s in statuses)
    booking = Booking.objects.get()
    # Whatever the arrival order, the later event (the update) is what the booking says.
    assert (booking.local_start.hour, booking.party_size) == (12, 8)


@pytest.mark.usefixtures("webhook_secrets", "queen")
def test_workers_draining_at_once_apply_each_queued_delivery_once(monkeypatch):
    from bookings.intake import webhook as deliveries

    monkeypatch.setattr(deliveries, "webhook_deliveries_wake", lambda: None)  # no inline drain
    client = Client()
    for n in range(24):
        event = load_event("booking_created__confirmed", id=f"evt_drain_{n}")
        event["booking"]["id"] = f"BS-drain-{n}"
        assert post_signed(client, event).status_code == 202
    counts = _at_once([lambda: deliveries.webhook_deliveries_drain()[0]] * 4)
    assert sum(counts) == 24
    assert Booking.objects.count() == 24
    assert AuditEvent.objects.filter(action="bookings.booking.created").count() == 24
    assert set(WebhookDelivery.objects.values_list("outcome", flat=True)) == {"accepted"}
