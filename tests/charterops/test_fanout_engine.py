"""The fan-out engine's guarantees: versions, enqueue on commit, leases, retries, unwinding."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking
from bookings.services import booking_cancel, booking_create, booking_update
from charterops.fanout import engine
from charterops.fanout.errors import backoff_seconds, classify
from charterops.fanout.targets import PermanentError, SyncResult, TransientError
from charterops.models import AuditEvent, TargetState
from tests.factories import BookingFactory, booking_fields

pytestmark = pytest.mark.django_db
TARGETS = ("calendar", "crew", "checklist", "guest_page")


class Recorder:
    """A target that records calls and can be told to fail."""

    calls: list[tuple[str, int, int, bool]] = []
    fail: dict[str, BaseException] = {}

    def sync(self, booking, *, state):
        Recorder.calls.append((self.name, booking.pk, booking.version, booking.is_live))
        if self.name in Recorder.fail:
            raise Recorder.fail[self.name]
        return SyncResult(external_ref=f"{self.name}-{booking.pk}")


@pytest.fixture
def recorder(settings):
    Recorder.calls = []
    Recorder.fail = {}
    settings.CHARTEROPS_FANOUT_TARGETS = dict.fromkeys(TARGETS, Recorder)
    return Recorder


def _states(booking):
    return {s.target: s for s in TargetState.objects.filter(booking=booking)}


# --- triggering -----------------------------------------------------------------------------


def test_a_confirmed_booking_gets_one_pending_row_per_target_enqueued_on_commit(
    recorder, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(engine, "enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        booking = booking_create(**booking_fields())
    assert len(callbacks) == 1
    states = _states(booking)
    assert set(states) == set(TARGETS)
    assert all(s.desired_version == 1 and s.status == "pending" for s in states.values())
    assert sorted(enqueue.call_args.args[0]) == sorted(s.pk for s in states.values())


def test_nothing_is_enqueued_when_the_transaction_rolls_back(
    recorder, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(engine, "enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        booking_create(**booking_fields())
        raise RuntimeError("boom")
    assert callbacks == []
    enqueue.assert_not_called()
    assert not TargetState.objects.exists()


@pytest.mark.parametrize("status", ["inquiry", "pending"])
def test_unconfirmed_bookings_do_not_fan_out(recorder, status, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields(status=status))
    assert not TargetState.objects.filter(booking=booking).exists()
    assert recorder.calls == []


def test_confirming_an_inquiry_fans_it_out(recorder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields(status="pending"))
        booking_update(booking, status="confirmed")
    assert {c[0] for c in recorder.calls} == set(TARGETS)
    assert all(s.status == "done" and s.synced_version == 2 for s in _states(booking).values())


def test_material_change_bumps_desired_version_non_material_does_not(
    recorder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields())
    recorder.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking_update(booking, owner_payout="900.00")
    assert recorder.calls == []
    with django_capture_on_commit_callbacks(execute=True):
        booking_update(
            booking, start=booking.start + timedelta(hours=1), end=booking.end + timedelta(hours=1)
        )
    assert sorted(c[0] for c in recorder.calls) == sorted(TARGETS)
    assert {s.synced_version for s in _states(booking).values()} == {2}


def test_cancelling_unwinds_every_target(recorder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields())
        recorder.calls.clear()
        booking_cancel(booking)
    assert sorted(c[0] for c in recorder.calls) == sorted(TARGETS)
    assert all(live is False for *_, live in recorder.calls)
    assert {s.status for s in _states(booking).values()} == {"done"}


def test_cancelling_a_booking_that_never_fanned_out_does_nothing(
    recorder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields(status="inquiry"))
        booking_cancel(booking)
    assert recorder.calls == []


# --- running a row --------------------------------------------------------------------------


def test_running_a_synced_row_again_changes_nothing(recorder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields())
    calls = len(recorder.calls)
    state = _states(booking)["calendar"]
    assert engine.target_state_run(state.pk).result == "noop"
    assert len(recorder.calls) == calls


def test_the_real_embedded_targets_are_idempotent(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields())
    before = {
        "calendar": booking.calendar_entry.sequence,
        "checklist": booking.checklist_items.count(),
        "guest": booking.guest_page.content_hash,
    }
    outcomes = [engine.target_state_run(s.pk, force=True) for s in booking.target_states.all()]
    assert {o.result for o in outcomes} == {"done"}
    booking.refresh_from_db()
    assert before == {
        "calendar": booking.calendar_entry.sequence,
        "checklist": booking.checklist_items.count(),
        "guest": booking.guest_page.content_hash,
    }


def test_one_failing_target_never_blocks_the_others(recorder, django_capture_on_commit_callbacks):
    recorder.fail["calendar"] = PermanentError(
        "HTTP 403: share the calendar with the service account"
    )
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields())
    states = _states(booking)
    assert states["calendar"].status == "failed"
    assert "share the calendar" in states["calendar"].last_error
    assert {states[t].status for t in ("crew", "checklist", "guest_page")} == {"done"}
    assert AuditEvent.objects.filter(action="charterops.fanout.calendar.failed").exists()


def test_transient_failure_schedules_a_retry_with_backoff(
    recorder, django_capture_on_commit_callbacks
):
    recorder.fail["crew"] = TransientError("HTTP 503", retry_after=30)
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields())
    crew = _states(booking)["crew"]
    assert crew.status == "retrying"
    assert crew.attempts == 1
    assert crew.next_attempt_at >= timezone.now() + timedelta(seconds=29)
    assert crew.leased_at is None
    del recorder.fail["crew"]
    assert engine.target_state_run(crew.pk).result == "done"
    crew.refresh_from_db()
    assert (crew.status, crew.attempts, crew.last_error) == ("done", 0, "")


def test_transient_failures_give_up_after_the_attempt_limit(
    recorder, settings, django_capture_on_commit_callbacks
):
    settings.CHARTEROPS_FANOUT_MAX_ATTEMPTS = 3
    recorder.fail["crew"] = TransientError("HTTP 503")
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields())
    crew = _states(booking)["crew"]
    assert engine.target_state_run(crew.pk).result == "retrying"
    assert engine.target_state_run(crew.pk).result == "failed"
    crew.refresh_from_db()
    assert crew.last_error.startswith("Gave up after 3 attempts")


def test_unexpected_exceptions_are_recorded_with_detail(
    recorder, django_capture_on_commit_callbacks
):
    recorder.fail["guest_page"] = KeyError("page_id")
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields())
    row = _states(booking)["guest_page"]
    assert row.status == "retrying"
    assert "KeyError" in row.last_error
    assert "Traceback" in row.error_detail


def test_a_live_lease_makes_other_workers_return_at_once(recorder):
    booking = BookingFactory()
    row = TargetState.objects.create(
        booking=booking,
        target="calendar",
        desired_version=1,
        status="running",
        leased_at=timezone.now(),
        lease_token="x",
    )
    assert engine.target_state_run(row.pk).result == "leased"
    assert recorder.calls == []


def test_an_expired_lease_is_taken_over(recorder, settings):
    booking = BookingFactory()
    old = timezone.now() - timedelta(seconds=settings.CHARTEROPS_FANOUT_LEASE_SECONDS + 1)
    row = TargetState.objects.create(
        booking=booking,
        target="calendar",
        desired_version=1,
        status="running",
        leased_at=old,
        lease_token="dead-worker",
    )
    assert engine.target_state_run(row.pk).result == "done"
    row.refresh_from_db()
    assert (row.synced_version, row.lease_token) == (1, "")


def test_a_worker_whose_lease_was_taken_over_records_nothing(recorder):
    booking = BookingFactory()
    row = TargetState.objects.create(booking=booking, target="calendar", desired_version=1)

    def steal(booking, *, state):
        TargetState.objects.filter(pk=state.pk).update(lease_token="other-worker")
        return SyncResult()

    with mock.patch.object(Recorder, "sync", side_effect=steal):
        assert engine.target_state_run(row.pk).result == "superseded"
    row.refresh_from_db()
    assert row.synced_version == 0 and row.lease_token == "other-worker"


def test_a_version_arriving_mid_run_is_synced_next(recorder, django_capture_on_commit_callbacks):
    booking = BookingFactory()
    row = TargetState.objects.create(booking=booking, target="calendar", desired_version=1)

    def bump(b, *, state):
        TargetState.objects.filter(pk=state.pk).update(desired_version=2)
        return SyncResult()

    with (
        mock.patch.object(Recorder, "sync", side_effect=bump),
        mock.patch.object(engine, "enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert engine.target_state_run(row.pk).result == "superseded"
    row.refresh_from_db()
    assert (row.status, row.synced_version, row.desired_version) == ("pending", 1, 2)
    enqueue.assert_called_once_with([row.pk])


def test_a_deleted_booking_makes_its_message_a_no_op(recorder):
    assert engine.target_state_run(999_999).result == "missing"


# --- errors and backoff ---------------------------------------------------------------------


class _HttpError(Exception):
    def __init__(self, status):
        super().__init__(f"status {status}")
        self.resp = type("Resp", (), {"status": status})()


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (_HttpError(429), TransientError),
        (_HttpError(500), TransientError),
        (_HttpError(503), TransientError),
        (_HttpError(401), PermanentError),
        (_HttpError(403), PermanentError),
        (_HttpError(400), PermanentError),
        (TimeoutError("read timed out"), TransientError),
        (ConnectionError("refused"), TransientError),
        (ValueError("odd"), TransientError),
    ],
)
def test_errors_are_classified_transient_or_permanent(exc, kind):
    assert isinstance(classify(exc), kind)


def test_aws_throttling_is_transient_and_access_denied_permanent():
    from botocore.exceptions import ClientError

    throttled = ClientError({"Error": {"Code": "Throttling", "Message": "slow"}}, "SendEmail")
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
    assert isinstance(classify(throttled), TransientError)
    assert isinstance(classify(denied), PermanentError)


def test_backoff_is_full_jitter_within_exponential_bounds(settings):
    settings.CHARTEROPS_FANOUT_BACKOFF_BASE = 2.0
    settings.CHARTEROPS_FANOUT_BACKOFF_CAP = 60.0
    for attempt in range(1, 12):
        ceiling = min(60.0, 2.0 * 2 ** (attempt - 1))
        delays = [backoff_seconds(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jitter spreads across the range
    assert backoff_seconds(1, retry_after=45) >= 45
    assert backoff_seconds(1, retry_after=10_000) <= 60.0


# --- sweeper --------------------------------------------------------------------------------


def test_sweeper_finds_lost_messages_and_dead_workers_only(recorder, settings):
    booking = BookingFactory()
    now = timezone.now()
    old = now - timedelta(minutes=5)
    lease = timedelta(seconds=settings.CHARTEROPS_FANOUT_LEASE_SECONDS)

    def row(target, **kw):
        state = TargetState.objects.create(booking=booking, target=target, desired_version=1, **kw)
        TargetState.objects.filter(pk=state.pk).update(updated_at=kw.pop("updated_at", old))
        return state

    lost = row("calendar", status="pending")
    due = row("crew", status="retrying", next_attempt_at=now - timedelta(seconds=1))
    dead = row("checklist", status="running", leased_at=now - lease - timedelta(seconds=1))
    row("guest_page", status="running", leased_at=now)
    other = BookingFactory(boat=booking.boat)
    TargetState.objects.create(
        booking=other,
        target="calendar",
        status="retrying",
        next_attempt_at=now + timedelta(minutes=1),
    )
    TargetState.objects.create(booking=other, target="crew", status="done")
    TargetState.objects.create(booking=other, target="checklist", status="failed")
    TargetState.objects.create(booking=other, target="guest_page", status="pending")  # fresh
    with mock.patch.object(engine, "enqueue") as enqueue:
        ids = engine.fanout_sweep()
    assert sorted(ids) == sorted([lost.pk, due.pk, dead.pk])
    enqueue.assert_called_once()


def test_retry_failed_puts_failed_rows_back_and_audits(
    recorder, django_capture_on_commit_callbacks
):
    recorder.fail["calendar"] = PermanentError("HTTP 403")
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields())
    del recorder.fail["calendar"]
    with django_capture_on_commit_callbacks(execute=True):
        ids = engine.booking_fanout_retry(booking)
    assert len(ids) == 1
    assert _states(booking)["calendar"].status == "done"
    assert AuditEvent.objects.filter(action="charterops.fanout.retried").exists()


def test_the_task_runs_the_row_and_reports_its_outcome(recorder):
    from charterops.fanout.tasks import target_state_run_task

    booking = BookingFactory()
    row = TargetState.objects.create(booking=booking, target="calendar", desired_version=1)
    assert target_state_run_task.apply(args=(row.pk,)).get() == "done"
    assert target_state_run_task.apply(args=(row.pk,)).get() == "noop"
    assert Booking.objects.get(pk=booking.pk).target_states.get().status == "done"


def test_a_run_costs_two_statements_on_postgresql_claim_and_read_then_record(
    recorder, django_assert_num_queries
):
    from django.db import connection

    booking = BookingFactory()
    row = TargetState.objects.create(booking=booking, target="calendar", desired_version=1)
    # PostgreSQL: UPDATE … RETURNING joined to the booking and boat, then the record.
    # SQLite (no UPDATE in a CTE): claim, read, record.
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 3) as ctx:
        assert engine.target_state_run(row.pk).result == "done"
    assert "RETURNING" in ctx.captured_queries[0]["sql"] or connection.vendor != "postgresql"
    with django_assert_num_queries(2):  # a redelivered message: failed claim, look, return
        assert engine.target_state_run(row.pk).result == "noop"
    row.refresh_from_db()
    assert (row.status, row.synced_version, row.attempts, row.lease_token) == ("done", 1, 0, "")
    assert row.external_ref == f"calendar-{booking.pk}"


def test_the_claim_hands_the_target_the_booking_and_boat_as_stored(recorder, settings):
    seen = {}

    class Peek(Recorder):
        def sync(self, booking, *, state):
            seen.update(
                boat=booking.boat.name,
                price=booking.boat_price,
                start=booking.start,
                detail=state.detail,
                attempts=state.attempts,
                status=state.status,
            )
            return SyncResult()

    settings.CHARTEROPS_FANOUT_TARGETS = {"calendar": Peek}
    booking = BookingFactory()
    row = TargetState.objects.create(
        booking=booking, target="calendar", desired_version=1, detail={"event": "x", "n": 2}
    )
    assert engine.target_state_run(row.pk).result == "done"
    booking.refresh_from_db()
    assert seen == {
        "boat": booking.boat.name,
        "price": booking.boat_price,
        "start": booking.start,
        "detail": {"event": "x", "n": 2},
        "attempts": 1,
        "status": "running",
    }


def test_a_booking_change_publishes_one_message_for_all_its_stale_targets(
    recorder, django_capture_on_commit_callbacks
):
    from charterops.fanout.tasks import target_states_run_task

    with (
        mock.patch.object(target_states_run_task, "apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        booking = booking_create(**booking_fields())
    assert publish.call_count == 1  # was one message per target
    assert sorted(publish.call_args.args[0][0]) == sorted(_states(booking)[t].pk for t in TARGETS)
    with (
        mock.patch.object(target_states_run_task, "apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        booking_update(booking, guest_name="Someone Else")
    assert publish.call_count == 1
    assert len(publish.call_args.args[0][0]) == len(TARGETS)


def test_the_sweep_cuts_many_rows_into_messages_several_workers_can_share(recorder):
    from charterops.fanout.tasks import target_states_run_task

    with mock.patch.object(target_states_run_task, "apply_async") as publish:
        engine.enqueue(list(range(1, 20)))
    sizes = [len(call.args[0][0]) for call in publish.call_args_list]
    assert sizes == [8, 8, 3]


def test_one_message_runs_each_row_on_its_own_a_failing_one_blocks_no_other(recorder):
    from charterops.fanout.tasks import target_states_run_task

    recorder.fail["calendar"] = TransientError("HTTP 503")
    recorder.fail["crew"] = RuntimeError("a bug in one target")
    booking = BookingFactory()
    rows = [
        TargetState.objects.create(booking=booking, target=t, desired_version=1) for t in TARGETS
    ]
    results = target_states_run_task.apply(args=([r.pk for r in rows],)).get()
    assert results == ["retrying", "retrying", "done", "done"]
    states = _states(booking)
    assert states["checklist"].status == states["guest_page"].status == "done"
    assert states["calendar"].status == states["crew"].status == "retrying"


def test_a_stale_request_keeps_a_live_lease_running_and_resets_the_others_in_one_update(
    recorder, django_assert_num_queries
):
    booking = BookingFactory(version=2)
    now = timezone.now()
    running = TargetState.objects.create(
        booking=booking,
        target="calendar",
        desired_version=1,
        status="running",
        leased_at=now,
        lease_token="t" * 32,
    )
    expired = TargetState.objects.create(
        booking=booking,
        target="crew",
        desired_version=1,
        status="running",
        leased_at=now - timedelta(hours=1),
        lease_token="u" * 32,
    )
    done = TargetState.objects.create(
        booking=booking, target="checklist", desired_version=1, status="done", attempts=3
    )
    current = TargetState.objects.create(
        booking=booking, target="guest_page", desired_version=2, status="failed"
    )
    with mock.patch.object(engine, "enqueue"), django_assert_num_queries(2):  # look, one UPDATE
        ids = engine.booking_fanout_request(booking)
    assert sorted(ids) == sorted([running.pk, expired.pk, done.pk])
    for row in (running, expired, done, current):
        row.refresh_from_db()
    assert (running.status, running.desired_version, running.lease_token) == (
        "running",
        2,
        "t" * 32,
    )
    assert (expired.status, expired.desired_version) == ("pending", 2)
    assert (done.status, done.desired_version, done.attempts) == ("pending", 2, 0)
    assert (current.status, current.desired_version) == ("failed", 2)  # waits for staff


def test_requesting_the_same_version_twice_enqueues_nothing_new(
    recorder, django_capture_on_commit_callbacks
):
    recorder.fail["calendar"] = PermanentError("HTTP 403")
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields())
    with mock.patch.object(engine, "enqueue") as enqueue:
        assert engine.booking_fanout_request(booking) == []
    enqueue.assert_not_called()
    assert _states(booking)["calendar"].status == "failed"  # waits for a staff retry


def test_the_fake_targets_read_their_failures_from_settings(
    settings, django_capture_on_commit_callbacks
):
    """The fakes' configuration is a setting, so a test sets it without a process of its own."""
    from charterops.fanout.fakes import FakeWorld

    settings.CHARTEROPS_FANOUT_TARGETS = dict.fromkeys(
        TARGETS, "charterops.fanout.fakes.FakeTarget"
    )
    settings.CHARTEROPS_FANOUT_FAKE = {
        "fail_transient": {"calendar": 1},
        "fail_permanent": {"crew": True},
        "namespace": "settings-fake",
    }
    FakeWorld(settings.CHARTEROPS_FANOUT_FAKE).clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(**booking_fields())
    states = _states(booking)
    assert states["calendar"].status == "retrying"
    assert (states["crew"].status, states["crew"].last_error) == (
        "failed",
        "fake crew: HTTP 403, calendar not shared",
    )
    assert states["guest_page"].status == "done"
    FakeWorld(settings.CHARTEROPS_FANOUT_FAKE).clear()
