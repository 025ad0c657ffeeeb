"""Marking a booking's targets stale, running one target, sweeping what was lost.

The state row is the truth; Celery messages are only wake-up calls. A row is worked on
when its status is pending or retrying (and due), or running with an expired lease.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from charterops.audit import audit_log
from charterops.models import TargetState

from .errors import backoff_seconds, classify
from .targets import PermanentError, TransientError, get_target, get_targets

if TYPE_CHECKING:
    from bookings.models import Booking

log = logging.getLogger(__name__)
Status = TargetState.Status
WORK_STATUSES = (Status.PENDING, Status.RETRYING)


def _lease() -> timedelta:
    return timedelta(seconds=settings.CHARTEROPS_FANOUT_LEASE_SECONDS)


def booking_needs_fanout(booking: Booking) -> bool:
    """Live bookings fan out; others only unwind what an earlier version published."""
    return booking.is_live or booking.target_states.exists()


def booking_fanout_request(booking: Booking, *, targets: list[str] | None = None) -> list[int]:
    """Make every target's desired version the booking's version; enqueue the stale rows on commit.

    Call it inside the transaction that bumped the version. Idempotent: a second call for
    the same version enqueues nothing new. Returns the ids of the rows that were enqueued.
    """
    if not booking_needs_fanout(booking):
        return []
    now = timezone.now()
    names = targets or list(get_targets())
    existing = {s.target: s for s in TargetState.objects.filter(booking=booking, target__in=names)}
    stale: list[int] = []
    for name in names:
        state = existing.get(name)
        if state is None:
            state = TargetState.objects.create(
                booking=booking,
                target=name,
                desired_version=booking.version,
                status=Status.PENDING,
                next_attempt_at=now,
            )
            stale.append(state.pk)
            continue
        if state.desired_version >= booking.version and state.status != Status.FAILED:
            continue
        # A running row keeps its status and lease; its worker sees the new version at the end.
        new_status = Status.RUNNING if _lease_is_live(state, now) else Status.PENDING
        TargetState.objects.filter(pk=state.pk).update(
            desired_version=booking.version,
            status=new_status,
            attempts=0,
            next_attempt_at=now,
            updated_at=now,
        )
        stale.append(state.pk)
    if stale:
        transaction.on_commit(lambda: enqueue(stale))
    return stale


def enqueue(state_ids: list[int], *, countdown: float | None = None) -> None:
    """Send one task per state row. Called after commit, never inside a transaction."""
    from .tasks import target_state_run_task

    options: dict[str, Any] = {"countdown": countdown}
    if settings.CHARTEROPS_FANOUT_QUEUE:
        options["queue"] = settings.CHARTEROPS_FANOUT_QUEUE
    for state_id in state_ids:
        try:
            target_state_run_task.apply_async((state_id,), **options)
        except Exception:  # broker down: the sweeper will find the row later
            log.exception("could not enqueue fan-out row %s; the sweeper will retry it", state_id)


@dataclass
class RunOutcome:
    state_id: int
    result: str  # noop | leased | done | skipped | retrying | failed | superseded | missing
    retry_in: float | None = None


def target_state_run(state_id: int, *, force: bool = False) -> RunOutcome:
    """Run one (booking, target) row once: take its lease, call the target, record the outcome.

    Idempotent and safe under redelivery: returns at once when the row has nothing to do or
    another worker holds a live lease. Transient failures leave the row ``retrying`` with the
    next attempt time set (the caller schedules it); permanent ones fail it.
    """
    lease_token = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        state = TargetState.objects.select_for_update().filter(pk=state_id).first()
        if state is None:
            return RunOutcome(state_id, "missing")
        if _lease_is_live(state, now):
            return RunOutcome(state_id, "leased")
        if state.status not in (*WORK_STATUSES, Status.RUNNING) and not force:
            return RunOutcome(state_id, "noop")
        state.status = Status.RUNNING
        state.leased_at = now
        state.lease_token = lease_token
        state.attempts += 1
        state.save(update_fields=["status", "leased_at", "lease_token", "attempts", "updated_at"])

    from bookings.models import Booking

    booking = Booking.objects.select_related("boat").get(pk=state.booking_id)
    version = booking.version
    error = None
    try:
        result = get_target(state.target).sync(booking, state=state)
    except Exception as exc:
        error = classify(exc)
        detail = getattr(error, "detail", "") or traceback.format_exc(limit=8)

    with transaction.atomic():
        current = TargetState.objects.select_for_update().filter(pk=state_id).first()
        if current is None or current.lease_token != lease_token:
            # Our lease expired and another worker took the row over; it records the outcome.
            return RunOutcome(state_id, "superseded")
        current.leased_at = None
        current.lease_token = ""
        now = timezone.now()
        outcome: RunOutcome
        if error is None:
            current.synced_version = max(current.synced_version, version)
            current.external_ref = result.external_ref or current.external_ref
            current.detail = result.detail
            current.last_error = ""
            current.error_detail = ""
            current.attempts = 0
            current.last_synced_at = now
            current.next_attempt_at = None
            if current.synced_version < current.desired_version:
                current.status = Status.PENDING  # a newer version arrived while we ran
                current.next_attempt_at = now
                outcome = RunOutcome(state_id, "superseded")
                transaction.on_commit(lambda: enqueue([state_id]))
            else:
                current.status = Status.SKIPPED if result.skipped else Status.DONE
                outcome = RunOutcome(state_id, current.status)
        else:
            current.last_error = str(error)[:300]
            current.error_detail = detail[:5000]
            max_attempts = settings.CHARTEROPS_FANOUT_MAX_ATTEMPTS
            if isinstance(error, PermanentError) or current.attempts >= max_attempts:
                current.status = Status.FAILED
                current.next_attempt_at = None
                if isinstance(error, TransientError):
                    current.last_error = f"Gave up after {current.attempts} attempts: {error}"[:300]
                outcome = RunOutcome(state_id, "failed")
                audit_log(
                    f"charterops.fanout.{current.target}.failed",
                    current,
                    booking=booking,
                    data={"error": current.last_error},
                )
            else:
                delay = backoff_seconds(
                    current.attempts, retry_after=getattr(error, "retry_after", None)
                )
                current.status = Status.RETRYING
                current.next_attempt_at = now + timedelta(seconds=delay)
                outcome = RunOutcome(state_id, "retrying", retry_in=delay)
        current.save()
    log.info(
        "fan-out %s/%s v%s: %s %s",
        booking.pk,
        state.target,
        version,
        outcome.result,
        current.last_error,
    )
    return outcome


def fanout_sweep(*, now: Any = None, limit: int = 500) -> list[int]:
    """Re-enqueue rows that are due and not leased (lost messages, killed workers).

    Pending rows get a grace period so that rows whose message is still in the queue are
    not sent twice; a duplicate would be harmless anyway (the run returns at once).
    """
    now = now or timezone.now()
    grace = now - timedelta(seconds=30)
    due = TargetState.objects.filter(
        Q(status=Status.PENDING, updated_at__lte=grace)
        | Q(status=Status.RETRYING, next_attempt_at__lte=now)
        | Q(status=Status.RUNNING, leased_at__lte=now - _lease())
    ).values_list("pk", flat=True)[:limit]
    ids = list(due)
    if ids:
        enqueue(ids)
    return ids


def booking_fanout_retry(
    booking: Booking, *, actor: Any = None, only_failed: bool = True
) -> list[int]:
    """Put the booking's failed rows (or all rows: "Sync now") back to pending and enqueue them."""
    rows = TargetState.objects.filter(booking=booking)
    if only_failed:
        rows = rows.filter(status=Status.FAILED)
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            rows.exclude(status=Status.RUNNING, leased_at__gt=now - _lease()).values_list(
                "pk", flat=True
            )
        )
        TargetState.objects.filter(pk__in=ids).update(
            status=Status.PENDING,
            attempts=0,
            next_attempt_at=now,
            updated_at=now,
            desired_version=booking.version,
        )
        audit_log(
            "charterops.fanout.retried" if only_failed else "charterops.fanout.sync_now",
            booking,
            actor=actor,
            data={"rows": len(ids)},
        )
        if not TargetState.objects.filter(booking=booking).exists():
            ids = booking_fanout_request(booking)
        else:
            transaction.on_commit(lambda: enqueue(ids))
    return ids


def booking_fanout_run(booking: Booking) -> list[RunOutcome]:
    """Run the booking's rows that need work, here and now, one after another (no worker)."""
    outcomes = []
    for state in TargetState.objects.filter(booking=booking).order_by("target"):
        if state.status in (*WORK_STATUSES, Status.RUNNING):
            outcomes.append(target_state_run(state.pk))
    return outcomes


def _lease_is_live(state: TargetState, now: Any) -> bool:
    return (
        state.status == Status.RUNNING
        and state.leased_at is not None
        and state.leased_at > now - _lease()
    )
