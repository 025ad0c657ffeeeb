"""Webhook deliveries applied by a real Celery worker process on this machine's Redis.

The request path stores and wakes; here a worker in another process drains the queue,
applies the bookings and runs their fan-out (fake targets), as in production.
"""

from __future__ import annotations

import uuid

import pytest
import redis
from django.db import connection

from bookings.intake.webhook import drain_flag
from bookings.models import Booking, WebhookDelivery
from charterops.fanout.fakes import FakeWorld
from charterops.fanout.targets import get_targets
from charterops.models import TargetState
from tests.services import require_redis
from tests.worker import CeleryWorker, database_url_for, point_app_at, purge_queue, wait_until

from .intake_support import load_event, post_signed

pytestmark = [
    pytest.mark.real_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
    pytest.mark.usefixtures("webhook_secrets", "queen"),
]


@pytest.fixture
def worker(settings):
    redis_url = require_redis()
    queue = f"intake-test-{uuid.uuid4().hex[:8]}"
    fake = {"store": redis_url, "namespace": f"t-{uuid.uuid4().hex[:8]}", "latency": {}}
    settings.CHARTEROPS_INTAKE_QUEUE = queue
    settings.CHARTEROPS_FANOUT_QUEUE = queue
    settings.CELERY_TASK_ALWAYS_EAGER = False
    point_app_at(redis_url)
    process = CeleryWorker(
        broker_url=redis_url,
        database_url=database_url_for(connection.settings_dict),
        fake=fake,
        queue=queue,
        concurrency=4,
        extra_env={"CHARTEROPS_INTAKE_QUEUE": queue},
    ).start()
    yield process
    process.stop()
    purge_queue(redis_url, queue)
    redis.Redis.from_url(redis_url).delete(drain_flag())
    FakeWorld(fake).clear()


def test_a_worker_applies_every_queued_delivery_and_fans_the_bookings_out(client, worker):
    sent = []
    for n in range(8):
        created = load_event("booking_created__confirmed", id=f"evt_w_{n}")
        created["booking"]["id"] = f"BS-w-{n}"
        updated = load_event("booking_updated__new_time", id=f"evt_w_{n}_u")
        updated["booking"]["id"] = f"BS-w-{n}"
        for event in (created, updated):
            response = post_signed(client, event)
            assert response.status_code == 202, response.content
            sent.append(response.json()["delivery"])

    def all_applied() -> bool:
        # Several drains run at once: an update that overtakes its booking's "created"
        # creates the booking, and the "created" is then stale. Nothing stays queued.
        done = WebhookDelivery.objects.filter(pk__in=sent, outcome__in=["accepted", "stale"])
        return done.count() == 16

    try:
        wait_until(all_applied, timeout=60)
    except AssertionError:
        outcomes = list(WebhookDelivery.objects.values_list("outcome", "error"))
        raise AssertionError(f"not applied: {outcomes}\n{worker.tail(60)}") from None
    bookings = Booking.objects.filter(external_id__startswith="BS-w-")
    assert bookings.count() == 8
    # Whichever order the worker met them in, each booking says what its later event said.
    assert {b.local_start.hour for b in bookings} == {12}

    def all_synced() -> bool:
        states = TargetState.objects.filter(booking__in=bookings)
        return (
            states.count() == 8 * len(get_targets()) and not states.exclude(status="done").exists()
        )

    wait_until(all_synced, timeout=60, message="fan-out not synced:\n" + worker.tail())
