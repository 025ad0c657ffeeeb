"""Concurrency on PostgreSQL: copies of one delivery have exactly one effect, the rest are
duplicates; several workers draining the queue apply each delivery once."""

import json
import threading
import time

import pytest
from django.db import connection, connections
from django.test import Client

from bookings.models import Booking, WebhookDelivery
from bookings.signatures import signature_header
from charterops.models import AuditEvent

from .intake_support import SECRET, WEBHOOK_URL, load_event

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and concurrent unique checks need PostgreSQL (the CI PG pass runs this)",
    ),
]


def _post_concurrently(bodies: list[bytes]) -> list[int]:
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []
    lock = threading.Lock()

    def send(body: bytes) -> None:
        try:
            client = Client()
            header = signature_header(body, SECRET, timestamp=int(time.time()))
            barrier.wait(timeout=10)
            response = client.post(
                WEBHOOK_URL,
                data=body,
                content_type="application/json",
                headers={"X-CharterOps-Signature": header},
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(statuses)


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
    from bookings import deliveries

    monkeypatch.setattr(deliveries, "webhook_deliveries_wake", lambda: None)  # no inline drain
    client = Client()
    for n in range(24):
        event = load_event("booking_created__confirmed", id=f"evt_drain_{n}")
        event["booking"]["id"] = f"BS-drain-{n}"
        body = json.dumps(event).encode()
        header = signature_header(body, SECRET, timestamp=int(time.time()))
        response = client.post(
            WEBHOOK_URL,
            data=body,
            content_type="application/json",
            headers={"X-CharterOps-Signature": header},
        )
        assert response.status_code == 202
    counts: list[int] = []
    barrier = threading.Barrier(4)

    def drain() -> None:
        try:
            barrier.wait(timeout=10)
            counts.append(deliveries.webhook_deliveries_drain()[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(counts) == 24
    assert Booking.objects.count() == 24
    assert AuditEvent.objects.filter(action="bookings.booking.created").count() == 24
    assert set(WebhookDelivery.objects.values_list("outcome", flat=True)) == {"accepted"}
