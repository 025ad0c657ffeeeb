"""The webhook's queue: the request stores and wakes, a worker applies, retries and records.

The request path answers from in-memory checks and one INSERT; these tests pin down what
that leaves to the worker (a boat changed by another process, a failing apply) and how the
worker is woken (a Redis flag, so one Celery message covers many deliveries).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.utils import timezone

from bookings.intake import webhook as deliveries
from bookings.intake.boats import boat_index
from bookings.models import Boat, Booking, WebhookDelivery
from charterops import wakeup
from charterops.models import AuditEvent
from tests.services import require_redis

from .intake_support import load_event, post_signed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_secrets")]


@pytest.fixture
def parked(monkeypatch):
    """The workers are elsewhere: deliveries stay queued until the test drains them."""
    woken: list[int] = []
    monkeypatch.setattr(deliveries, "webhook_deliveries_wake", lambda: woken.append(1))
    return woken


def _delete_elsewhere(boat: Boat) -> None:
    """Delete as another process would: no signal reaches this process's boat index."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Boat._meta.db_table} WHERE id = %s", [boat.pk])


# --- The boat checks the request makes without a query -------------------------------------


def test_a_boat_added_by_another_process_is_found_at_once(client):
    boat_index.find("b-1")  # the index is loaded, without the boat
    Boat.objects.bulk_create([Boat(name="Queen of San Diego", external_id="b-77", capacity=12)])
    assert post_signed(client, load_event("booking_created__confirmed")).status_code == 202
    assert Booking.objects.get().boat.external_id == "b-77"


def test_a_capacity_lowered_in_this_process_is_checked_at_once(client, queen):
    boat_index.find("b-77")
    queen.capacity = 4
    queen.save()
    response = post_signed(client, load_event("booking_created__confirmed"))
    assert response.status_code == 422
    assert "carries at most 4 guests" in response.json()["fields"]["booking.party_size"][0]


def test_a_boat_deleted_elsewhere_is_caught_by_the_worker_and_the_event_stays_replayable(
    client, queen, parked
):
    boat_index.find("b-77")
    _delete_elsewhere(queen)
    response = post_signed(client, load_event("booking_created__confirmed"))
    assert response.status_code == 202  # this process's index still knew the boat
    deliveries.webhook_deliveries_drain()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.http_status, delivery.holds_event_key) == (
        "invalid",
        202,
        None,
    )
    assert "unknown boat id 'b-77'" in delivery.error
    # The operator adds the boat back and replays: the event applies once.
    Boat.objects.create(name="Queen of San Diego", external_id="b-77", capacity=12)
    assert deliveries.webhook_delivery_replay(delivery).outcome == "accepted"
    assert Booking.objects.count() == 1


def test_a_fixed_copy_of_an_event_the_worker_refused_is_not_a_duplicate(client, queen, parked):
    boat_index.find("b-77")
    _delete_elsewhere(queen)
    post_signed(client, load_event("booking_created__confirmed"))
    deliveries.webhook_deliveries_drain()
    Boat.objects.create(name="Queen of San Diego", external_id="b-77", capacity=12)
    again = post_signed(client, load_event("booking_created__confirmed"))
    assert again.json()["status"] == "accepted"
    deliveries.webhook_deliveries_drain()
    assert Booking.objects.count() == 1


# --- The worker ----------------------------------------------------------------------------


@pytest.mark.usefixtures("queen")
def test_deliveries_are_applied_in_arrival_order(client, parked):
    post_signed(client, load_event("booking_created__confirmed"))
    post_signed(client, load_event("booking_updated__new_time"))
    post_signed(client, load_event("booking_cancelled__by_guest"))
    assert len(parked) == 3
    assert deliveries.webhook_deliveries_drain() == (3, False)
    booking = Booking.objects.get()
    assert booking.status == "cancelled"
    assert list(WebhookDelivery.objects.order_by("id").values_list("outcome", flat=True)) == [
        "accepted",
        "accepted",
        "accepted",
    ]


@pytest.mark.usefixtures("queen")
def test_a_batch_limit_leaves_the_rest_for_the_next_run(client, parked):
    post_signed(client, load_event("booking_created__confirmed"))
    post_signed(client, load_event("booking_updated__new_time"))
    assert deliveries.webhook_deliveries_drain(limit=1) == (1, True)
    assert deliveries.webhook_deliveries_drain(limit=1) == (1, False)


@pytest.mark.usefixtures("queen")
def test_a_failing_apply_is_retried_with_backoff_then_recorded_as_an_error(
    client, parked, monkeypatch, time_machine
):
    from bookings import intake

    real = intake.booking_upsert_from_event

    def database_gone(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(intake, "booking_upsert_from_event", database_gone)
    time_machine.move_to(timezone.now(), tick=False)
    assert post_signed(client, load_event("booking_created__confirmed")).status_code == 202
    waits = []
    for _ in range(deliveries.MAX_ATTEMPTS - 1):
        deliveries.webhook_deliveries_drain()
        delivery = WebhookDelivery.objects.get()
        assert delivery.outcome == "queued" and delivery.holds_event_key
        assert "database went away" in delivery.error
        waits.append((delivery.retry_at - timezone.now()).total_seconds())
        assert deliveries.webhook_deliveries_drain() == (0, False)  # not due yet
        time_machine.shift(timedelta(seconds=waits[-1]))
    assert waits == [30, 60, 120, 240]
    deliveries.webhook_deliveries_drain()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.attempts, delivery.holds_event_key) == ("error", 5, None)
    assert delivery in deliveries.webhook_deliveries_failed()
    monkeypatch.setattr(intake, "booking_upsert_from_event", real)
    result = deliveries.webhook_delivery_replay(delivery)
    assert (result.http_status, result.outcome) == (202, "accepted")
    assert Booking.objects.count() == 1


@pytest.mark.usefixtures("queen")
def test_a_delivery_queued_too_long_is_listed_for_replay(client, parked, time_machine):
    time_machine.move_to(timezone.now())
    post_signed(client, load_event("booking_created__confirmed"))
    assert not deliveries.webhook_deliveries_failed().exists()
    time_machine.shift(timedelta(minutes=6))
    assert deliveries.webhook_deliveries_failed().count() == 1


def test_beat_runs_the_drain_every_minute_as_a_backstop(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["webhook-deliveries-drain"]
    assert entry["task"] == "bookings.webhook_deliveries_drain"
    assert entry["schedule"] == timedelta(seconds=60)


# --- Waking the worker ---------------------------------------------------------------------


class CountingTask:
    """Stands in for the Celery task: records each publish, its lease token and its queue."""

    name = "test.counting"

    def __init__(self) -> None:
        self.published: list[tuple[str | None, str | None]] = []

    def apply_async(self, *, kwargs=None, queue=None):
        self.published.append(((kwargs or {}).get("lease_token"), queue))


@pytest.fixture
def flag_redis(monkeypatch):
    """Wake-ups leased in this machine's Redis, as with a Redis broker."""
    client = redis.Redis.from_url(require_redis())
    client.delete("test:flag")
    monkeypatch.setattr(wakeup, "flag_client", lambda: client)
    wakeup.known_leases_forget()
    yield client
    wakeup.known_leases_forget()
    client.delete("test:flag")


def test_one_publish_and_its_lease_cover_every_wake_while_the_lease_holds(flag_redis):
    task = CountingTask()
    assert wakeup.task_wake(task, flag="test:flag", queue="intake") is True
    [(token, queue)] = task.published
    assert queue == "intake" and flag_redis.get("test:flag") == token.encode()
    assert 0 < flag_redis.pttl("test:flag") <= wakeup.LEASE_SECONDS * 1000
    flag_redis.delete("test:flag")  # behind the process's back: it does not even ask Redis
    assert wakeup.task_wake(task, flag="test:flag", queue="intake") is False
    assert len(task.published) == 1


def test_another_process_learns_the_lease_from_redis_and_stays_quiet(flag_redis):
    task = CountingTask()
    wakeup.task_wake(task, flag="test:flag")
    wakeup.known_leases_forget()  # as if another web process
    assert wakeup.task_wake(task, flag="test:flag") is False
    assert len(task.published) == 1


def test_after_the_lease_the_next_wake_publishes_a_new_drain(flag_redis):
    task = CountingTask()
    wakeup.task_wake(task, flag="test:flag", lease=0.3)
    time.sleep(0.35)
    assert wakeup.task_wake(task, flag="test:flag", lease=0.3) is True
    assert len({token for token, _ in task.published}) == 2


@pytest.mark.usefixtures("queen")
def test_a_woken_drain_watches_the_queue_until_its_lease_ends(
    client, parked, flag_redis, monkeypatch
):
    """Deliveries stored during the lease wake nobody; the lease's drain must take them."""
    post_signed(client, load_event("booking_created__confirmed"))
    flag_redis.set("test:flag", "tok", px=60_000)
    monkeypatch.setattr(deliveries, "drain_flag", lambda: "test:flag")
    waits: list[int] = []

    def meanwhile(seconds: float) -> None:
        waits.append(1)
        if len(waits) == 1:  # a delivery arrives while the drain watches
            post_signed(client, load_event("booking_updated__new_time"))
        else:  # then the lease ends
            flag_redis.delete("test:flag")

    monkeypatch.setattr(deliveries.time, "sleep", meanwhile)
    assert deliveries.webhook_deliveries_drain(lease_token="tok") == (2, False)
    assert len(waits) == 2
    assert Booking.objects.get().local_start.hour == 12


@pytest.mark.usefixtures("queen")
def test_a_redis_outage_loses_no_delivery(client, monkeypatch, caplog):
    down = wakeup._client("redis://127.0.0.1:1/0")  # nothing listens on port 1
    monkeypatch.setattr(wakeup, "flag_client", lambda: down)
    response = post_signed(client, load_event("booking_created__confirmed"))
    assert response.status_code == 202
    assert WebhookDelivery.objects.get().outcome == "queued"  # beat's drain applies it
    assert "periodic run will pick the work up" in caplog.text
    assert deliveries.webhook_deliveries_drain(lease_token="lost") == (1, False)


def test_in_process_tasks_are_published_on_every_wake(settings):
    from charterops.celery import app

    assert app.conf.task_always_eager
    assert wakeup.flag_client() is None
    task = CountingTask()
    wakeup.task_wake(task, flag="test:flag")
    wakeup.task_wake(task, flag="test:flag")
    assert task.published == [(None, None), (None, None)]


@pytest.mark.usefixtures("queen")
def test_a_backlog_of_several_batches_wakes_helper_drains(client, parked, settings, monkeypatch):
    from bookings import tasks

    for n in range(3):
        post_signed(client, load_event("booking_created__confirmed", id=f"evt_backlog_{n}"))
    published: list[dict] = []
    monkeypatch.setattr(
        tasks.webhook_deliveries_help_task, "apply_async", lambda **kw: published.append(kw)
    )
    monkeypatch.setattr(deliveries, "CLAIM_BATCH", 1)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert deliveries._helpers_wake() == 2  # three batches: the drain itself and two helpers
    assert len(published) == 2
    # a helper applies full batches and stops at the first short one
    monkeypatch.setattr(deliveries, "CLAIM_BATCH", 2)
    assert deliveries.webhook_deliveries_help() == 3
    assert not WebhookDelivery.objects.filter(outcome="queued").exists()


# --- The worker's cost and its batches -----------------------------------------------------


def _new_booking_event(n: int, **booking: object) -> dict:
    """A booking.created for a booking of its own, in a slot of its own."""
    event = load_event("booking_created__confirmed", id=f"evt_batch_{n}")
    day = 10 + n
    event["booking"].update(
        id=f"BS-BATCH-{n}",
        start=f"2026-12-{day}T10:00:00-08:00",
        end=f"2026-12-{day}T14:00:00-08:00",
        **booking,
    )
    return event


@pytest.mark.usefixtures("queen")
def test_a_batch_applies_each_new_booking_in_two_statements_and_one_publish(
    client, parked, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    from charterops.fanout import engine

    for n in range(3):
        assert post_signed(client, _new_booking_event(n)).status_code == 202
    published = []
    monkeypatch.setattr(engine, "enqueue", lambda ids, **kw: published.append(ids))
    # Per delivery 2: the booking's INSERT, its fan-out rows. Per batch 6: the claim, the
    # lock of the batch's bookings, the boat, the overlap check of the new bookings, the
    # audit rows (one INSERT), the outcomes (one UPDATE); in a test's transaction the
    # durable block is a savepoint (+2).
    with (
        django_capture_on_commit_callbacks(execute=True),
        django_assert_num_queries(6 + 3 * 2 + 2),
    ):
        assert deliveries.webhook_deliveries_apply_batch(50) == 3
    assert Booking.objects.count() == 3
    assert [len(ids) for ids in published] == [len(engine.get_targets())] * 3  # one each
    # each delivery names its own booking, and each booking has its one audit row
    for delivery in WebhookDelivery.objects.all():
        assert delivery.outcome == "accepted" and delivery.processed_at is not None
        assert delivery.booking.external_id == f"BS-BATCH-{delivery.event_id.rsplit('_')[-1]}"
        created = AuditEvent.objects.get(booking=delivery.booking)
        assert created.action == "bookings.booking.created"
        assert created.actor_label == "webhook:boatsetter"


@pytest.mark.usefixtures("queen")
def test_one_failing_delivery_rolls_its_batch_back_and_the_careful_rerun_applies_the_others(
    client, parked, monkeypatch
):
    from bookings import intake

    real = intake.booking_upsert_from_event

    def fails_after_writing(source, payload, **kwargs):
        applied = real(source, payload, **kwargs)  # the booking, its audit and fan-out rows
        if payload.id == "BS-BATCH-2":
            raise RuntimeError("a bug after the writes")
        return applied

    monkeypatch.setattr(intake, "booking_upsert_from_event", fails_after_writing)
    for n in (1, 2, 3):
        post_signed(client, _new_booking_event(n))
    assert deliveries.webhook_deliveries_apply_batch(50) == 3
    outcomes = dict(WebhookDelivery.objects.values_list("event_id", "outcome"))
    assert outcomes == {
        "evt_batch_1": "accepted",
        "evt_batch_2": "queued",
        "evt_batch_3": "accepted",
    }
    assert "a bug after the writes" in WebhookDelivery.objects.get(event_id="evt_batch_2").error
    # nothing of the failed delivery was kept, everything of the others exactly once
    assert sorted(Booking.objects.values_list("external_id", flat=True)) == [
        "BS-BATCH-1",
        "BS-BATCH-3",
    ]
    assert AuditEvent.objects.filter(action="bookings.booking.created").count() == 2


@pytest.fixture
def passes(monkeypatch):
    """The passes each batch took: False the optimistic one, True a careful rerun."""
    taken: list[bool] = []
    real = deliveries._apply_batch

    def spy(size, *, careful):
        taken.append(careful)
        return real(size, careful=careful)

    monkeypatch.setattr(deliveries, "_apply_batch", spy)
    return taken


@pytest.mark.usefixtures("queen")
def test_an_optimistic_batch_orders_the_events_of_one_booking_as_one_by_one_would(
    client, parked, passes
):
    # One batch: the update arrives first (creating the booking), the older created is
    # stale, the cancellation applies its whole snapshot, and another booking is new.
    post_signed(client, load_event("booking_updated__new_time"))
    post_signed(client, load_event("booking_created__confirmed"))
    post_signed(client, load_event("booking_cancelled__by_guest"))
    post_signed(client, _new_booking_event(1))
    assert deliveries.webhook_deliveries_apply_batch(50) == 4
    assert passes == [False]  # no careful rerun
    outcomes = list(WebhookDelivery.objects.order_by("id").values_list("outcome", "booking"))
    booking = Booking.objects.get(external_id="BS-4821937")
    other = Booking.objects.get(external_id="BS-BATCH-1")
    assert outcomes == [
        ("accepted", booking.pk),
        ("stale", booking.pk),
        ("accepted", booking.pk),
        ("accepted", other.pk),
    ]
    assert booking.status == "cancelled"
    assert booking.start.isoformat() == "2026-12-05T18:00:00+00:00"  # the cancellation's own
    actions = list(
        AuditEvent.objects.filter(booking=booking).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["bookings.booking.created", "bookings.booking.cancelled"]
    assert AuditEvent.objects.filter(booking=other).count() == 1


@pytest.mark.usefixtures("queen")
def test_a_booking_created_after_the_batch_lock_turns_the_batch_careful_and_into_an_update(
    client, parked, passes, monkeypatch
):
    from contextlib import contextmanager

    from bookings import intake
    from bookings.intake import upsert

    post_signed(client, load_event("booking_created__confirmed"))
    assert deliveries.webhook_deliveries_apply_batch(50) == 1

    @contextmanager
    def locked_before_the_create(keys):
        # as if another worker created the booking just after this batch's lock query
        token = upsert._known.set(dict.fromkeys(keys))
        try:
            yield
        finally:
            upsert._known.reset(token)

    monkeypatch.setattr(intake, "bookings_locked", locked_before_the_create)
    post_signed(client, load_event("booking_updated__new_time"))
    post_signed(client, _new_booking_event(1))
    passes.clear()
    assert deliveries.webhook_deliveries_apply_batch(50) == 2
    assert passes == [False, True]  # the INSERT refused, the batch rolled back, rerun
    booking = Booking.objects.get(external_id="BS-4821937")
    assert booking.start.isoformat() == "2026-12-05T20:00:00+00:00"
    assert set(WebhookDelivery.objects.values_list("outcome", flat=True)) == {"accepted"}
    actions = list(
        AuditEvent.objects.filter(booking=booking).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["bookings.booking.created", "bookings.booking.updated"]
    assert Booking.objects.filter(external_id="BS-BATCH-1").count() == 1
    assert AuditEvent.objects.filter(booking__external_id="BS-BATCH-1").count() == 1


def _at(name: str, event_id: str, booking_id: str, hours: tuple[str, str]) -> dict:
    event = load_event(name, id=event_id)
    start, end = hours
    event["booking"].update(
        id=booking_id, start=f"2026-12-20T{start}:00-08:00", end=f"2026-12-20T{end}:00-08:00"
    )
    return event


@pytest.mark.usefixtures("queen")
def test_an_optimistic_batch_flags_double_bookings_as_one_by_one_would(client, parked, passes):
    created, updated = "booking_created__confirmed", "booking_updated__new_time"
    post_signed(client, _at(created, "evt_e", "BS-E", ("10:00", "14:00")))
    assert deliveries.webhook_deliveries_apply_batch(50) == 1
    for event in [
        _at(created, "evt_a", "BS-A", ("12:00", "16:00")),  # overlaps E, booked before
        _at(created, "evt_b", "BS-B", ("18:00", "20:00")),  # B and C overlap each other,
        _at(created, "evt_c", "BS-C", ("19:00", "21:00")),  # both new in this batch
        _at(created, "evt_d", "BS-D", ("16:00", "18:00")),  # back to back with A and B
        _at(created, "evt_f1", "BS-F", ("08:00", "11:00")),  # overlaps E, then moves
        _at(updated, "evt_f2", "BS-F", ("06:00", "08:00")),  # away in the same batch
    ]:
        post_signed(client, event)
    passes.clear()
    assert deliveries.webhook_deliveries_apply_batch(50) == 6
    assert passes == [False]
    flags = dict(Booking.objects.values_list("external_id", "double_booked"))
    assert flags == {
        "BS-E": True,
        "BS-A": True,
        "BS-B": True,
        "BS-C": True,
        "BS-D": False,
        "BS-F": False,
    }
