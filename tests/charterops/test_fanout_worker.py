"""The engine on a real Celery worker process and this machine's Redis.

Fake targets stand in for the outside services; their "outside world" lives in Redis so
the test can count creations made in the worker process.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from bookings.services import booking_create
from charterops.fanout import engine
from charterops.fanout.fakes import FakeWorld
from charterops.models import TargetState
from tests.factories import booking_fields
from tests.services import require_redis
from tests.worker import CeleryWorker, database_url_for, point_app_at, purge_queue, wait_until

pytestmark = [
    pytest.mark.real_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]
TARGETS = ("calendar", "crew", "checklist", "guest_page")


@pytest.fixture
def redis_url():
    return require_redis()


@pytest.fixture
def world(redis_url):
    fake = {
        "store": redis_url,
        "namespace": f"t-{uuid.uuid4().hex[:8]}",
        "latency": {"calendar": 0.05, "crew": 0.05, "checklist": 0.01, "guest_page": 0.05},
    }
    w = FakeWorld(fake)
    w.config = fake
    yield w
    w.clear()


@pytest.fixture
def start_worker(redis_url, world, settings):
    workers: list[CeleryWorker] = []
    queue = f"fanout-test-{uuid.uuid4().hex[:8]}"
    settings.CHARTEROPS_FANOUT_QUEUE = queue
    settings.CHARTEROPS_FANOUT_TARGETS = dict.fromkeys(
        TARGETS, "charterops.fanout.fakes.FakeTarget"
    )
    settings.CELERY_TASK_ALWAYS_EAGER = False
    point_app_at(redis_url)

    def start(**overrides) -> CeleryWorker:
        fake = {**world.config, **overrides.pop("fake", {})}
        worker = CeleryWorker(
            broker_url=redis_url,
            database_url=database_url_for(connection.settings_dict),
            fake=fake,
            queue=queue,
            concurrency=8,
            extra_env={
                "CHARTEROPS_FANOUT_BACKOFF_BASE": "0.2",
                "CHARTEROPS_FANOUT_BACKOFF_CAP": "1",
                **overrides.pop("env", {}),
            },
        )
        workers.append(worker.start())
        return worker

    yield start
    for worker in workers:
        worker.stop()
    purge_queue(redis_url, queue)


def _all_done(booking) -> bool:
    rows = list(TargetState.objects.filter(booking=booking).values_list("status", flat=True))
    return len(rows) == len(TARGETS) and set(rows) == {"done"}


def test_a_booking_fans_out_to_every_target_on_a_real_worker(start_worker, world):
    worker = start_worker()
    booking = booking_create(**booking_fields())  # commits: the enqueue goes to Redis
    wait_until(
        lambda: _all_done(booking),
        timeout=30,
        message=f"targets did not converge:\n{worker.tail()}",
    )
    for target in TARGETS:
        assert world.get(target, booking.pk, "creations") == 1


def test_a_target_failing_transiently_three_times_converges(start_worker, world):
    worker = start_worker(fake={"fail_transient": {"calendar": 3}})
    booking = booking_create(**booking_fields())
    wait_until(
        lambda: _all_done(booking),
        timeout=60,
        message=f"calendar did not converge after retries:\n{worker.tail()}",
    )
    assert world.get("calendar", booking.pk, "attempts") == 4
    assert world.get("calendar", booking.pk, "creations") == 1
    row = TargetState.objects.get(booking=booking, target="calendar")
    assert (row.attempts, row.last_error) == (0, "")


@pytest.mark.timeout(420)
def test_a_worker_killed_mid_task_is_replaced_and_nothing_is_duplicated(
    start_worker, world, settings
):
    # Every wait is on state, with bounds for a loaded 2-core machine: the first worker holds
    # the calendar row for a minute (far past any scheduling delay), the lease is 5 s, and
    # the test sweeps every second until the row is done, as beat would every 30 s.
    settings.CHARTEROPS_FANOUT_LEASE_SECONDS = 5
    slow = {"effect_then_sleep": True, "latency": {**world.config["latency"], "calendar": 60}}
    env = {"CHARTEROPS_FANOUT_LEASE_SECONDS": "5"}
    first = start_worker(fake=slow, env=env)
    booking = booking_create(**booking_fields())  # commits: the enqueue goes to Redis
    # The calendar event exists outside, but the worker has not recorded it yet...
    wait_until(
        lambda: world.get("calendar", booking.pk, "creations") == 1,
        timeout=120,
        message=first.tail(),
    )
    assert TargetState.objects.get(booking=booking, target="calendar").status == "running"
    first.kill()  # ...and dies without acking or recording anything.

    second = start_worker(fake={"latency": world.config["latency"]}, env=env)
    swept: list[int] = []

    def converged() -> bool:
        swept.extend(engine.fanout_sweep())  # the lease expires; the sweep re-enqueues the row
        return _all_done(booking)

    wait_until(
        converged,
        timeout=180,
        interval=1,
        message=(
            f"did not converge after kill: {list(TargetState.objects.values())}\n{second.tail()}"
        ),
    )
    calendar = TargetState.objects.get(booking=booking, target="calendar")
    assert calendar.pk in swept  # it was the sweep, not the first worker, that finished it
    assert world.get("calendar", booking.pk, "creations") == 1  # no duplicate event
    assert world.get("calendar", booking.pk, "updates") >= 1  # the re-run updated it
