"""Marking a booking's targets stale, running one target, sweeping what was lost.

The state row is the truth; Celery messages are only wake-up calls. A row is worked on
when its status is pending or retrying (and due), or running with an expired lease.

The booking is the model ``TargetState.booking`` points at; the engine reaches it through
the row (``state.booking``) and the foreign key's metadata, never by importing an app.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from charterops.audit import audit_log
from charterops.models import TargetState
from charterops.observability import fanout_row_context

from .errors import backoff_seconds, classify
from .targets import FanoutBooking, PermanentError, TransientError, get_target, get_targets

log = logging.getLogger(__name__)
ops_log = logging.getLogger("charterops.ops")
Status = TargetState.Status
WORK_STATUSES = (Status.PENDING, Status.RETRYING)


def _lease() -> timedelta:
    return timedelta(seconds=settings.CHARTEROPS_FANOUT_LEASE_SECONDS)


def booking_needs_fanout(booking: FanoutBooking) -> bool:
    """Live bookings fan out; others only unwind what an earlier version published."""
    return booking.is_live or booking.target_states.exists()


def booking_fanout_request(
    booking: FanoutBooking, *, targets: list[str] | None = None, new: bool = False
) -> list[int]:
    """Make every target's desired version the booking's version; enqueue the stale rows on commit.

    Call it inside the transaction that bumped the version (``new``: the one that created
    the booking, which has no rows yet, so they are not looked for). Idempotent: a second
    call for the same version enqueues nothing new. The stale rows go out as ONE message on
    commit (see ``enqueue``). Returns the ids of the rows that were enqueued.
    """
    if not (booking.is_live if new else booking_needs_fanout(booking)):
        return []
    now = timezone.now()
    names = targets or list(get_targets())
    existing = (
        {}
        if new
        else {
            s.target: s
            for s in TargetState.objects.filter(booking=booking, target__in=names).only(
                "pk", "target", "desired_version"
            )
        }
    )
    stale: list[int] = []
    missing = [name for name in names if name not in existing]
    if missing:
        created = TargetState.objects.bulk_create(
            [
                TargetState(
                    booking=booking,
                    target=name,
                    desired_version=booking.version,
                    status=Status.PENDING,
                    next_attempt_at=now,
                )
                for name in missing
            ]
        )
        stale.extend(state.pk for state in created)
    # failed rows wait for a staff retry (their desired version is already this one)
    behind = [s.pk for s in existing.values() if s.desired_version < booking.version]
    if behind:
        # One UPDATE for every row behind. A running row keeps its status and lease (its
        # worker sees the new version when it records); the lease is judged by the UPDATE
        # itself, under the row lock, not by what an earlier SELECT saw.
        live_lease = Q(status=Status.RUNNING, leased_at__gt=now - _lease())
        TargetState.objects.filter(pk__in=behind, desired_version__lt=booking.version).update(
            desired_version=booking.version,
            status=Case(
                When(live_lease, then=Value(Status.RUNNING)), default=Value(Status.PENDING)
            ),
            attempts=0,
            next_attempt_at=now,
            updated_at=now,
        )
        stale.extend(behind)
    if stale:
        transaction.on_commit(lambda: enqueue(stale))
    return stale


#: rows one message carries at most: a booking's targets fit in one; the sweep's batches are
#: cut into messages of this size so that several workers share them.
ROWS_PER_MESSAGE = 8


def enqueue(state_ids: list[int], *, countdown: float | None = None) -> None:
    """Publish the rows' wake-up: ONE message per ``ROWS_PER_MESSAGE`` rows (a booking's
    stale targets go out together). Called after commit, never inside a transaction.

    The worker runs each row of a message on its own (``target_states_run_task``): every
    row is claimed, run and recorded independently, so one failing or slow target never
    blocks the others. One broker connection, from Celery's producer pool, serves the
    batch. A broker that is down loses nothing: the rows stay pending and the sweeper
    enqueues them later.
    """
    from charterops.celery import app

    from .tasks import target_states_run_task

    options: dict[str, Any] = {"countdown": countdown}
    if settings.CHARTEROPS_FANOUT_QUEUE:
        options["queue"] = settings.CHARTEROPS_FANOUT_QUEUE
    try:
        with app.producer_or_acquire() as producer:
            for i in range(0, len(state_ids), ROWS_PER_MESSAGE):
                chunk = list(state_ids[i : i + ROWS_PER_MESSAGE])
                target_states_run_task.apply_async((chunk,), producer=producer, **options)
    except Exception:
        log.exception("could not enqueue fan-out rows %s; the sweeper will retry them", state_ids)


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

    The lease is taken by one conditional UPDATE (the row lock lasts one statement, never
    across the outside call) and the outcome is written only while the lease is still ours,
    so a worker whose lease was taken over records nothing. On PostgreSQL the claim also
    reads the row, its booking and boat (``UPDATE … RETURNING`` in a CTE), and the outcome is
    one conditional UPDATE: two statements per run on the happy path.
    """
    lease_token = uuid.uuid4().hex
    now = timezone.now()
    state = _claim(state_id, lease_token=lease_token, now=now, force=force)
    if state is None:
        state = TargetState.objects.filter(pk=state_id).only("status", "leased_at").first()
        if state is None:
            return RunOutcome(state_id, "missing")
        return RunOutcome(state_id, "leased" if _lease_is_live(state, now) else "noop")

    booking = state.booking
    version = booking.version
    with fanout_row_context(booking.pk, state.target):
        try:
            result = get_target(state.target).sync(booking, state=state)
        except Exception as exc:
            error = classify(exc)
            detail = getattr(error, "detail", "") or traceback.format_exc(limit=8)
            outcome = _record_failure(state, booking, lease_token, error, detail)
        else:
            outcome = _record_success(state, lease_token, version, result)
        log.info("fan-out %s/%s v%s: %s", booking.pk, state.target, version, outcome.result)
        # One line per row run, with its booking and target (as each per-row task had).
        ops_log.info("fan-out row finished", extra={"outcome": outcome.result})
    return outcome


def _claimable_sql(force: bool) -> tuple[str, list[Any]]:
    statuses = [*WORK_STATUSES, *((Status.DONE, Status.SKIPPED, Status.FAILED) if force else ())]
    marks = ", ".join(["%s"] * len(statuses))
    sql = f"(status IN ({marks}) OR (status = %s AND (leased_at IS NULL OR leased_at <= %s)))"
    return sql, [*statuses, Status.RUNNING]


def _claim(state_id: int, *, lease_token: str, now: Any, force: bool) -> TargetState | None:
    """Take the row's lease if it is claimable; the row (its booking and boat loaded), or None.

    PostgreSQL: one statement, an ``UPDATE … RETURNING`` in a CTE joined to the booking and
    its boat, committed on its own (autocommit). Elsewhere (SQLite): the same conditional
    UPDATE, then a read.
    """
    if connection.vendor != "postgresql":
        claimable = Q(status__in=WORK_STATUSES) | Q(status=Status.RUNNING, leased_at__isnull=True)
        claimable |= Q(status=Status.RUNNING, leased_at__lte=now - _lease())
        if force:
            claimable |= Q(status__in=[Status.DONE, Status.SKIPPED, Status.FAILED])
        claimed = TargetState.objects.filter(claimable, pk=state_id).update(
            status=Status.RUNNING,
            leased_at=now,
            lease_token=lease_token,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        if not claimed:
            return None
        return TargetState.objects.select_related("booking__boat").get(pk=state_id)
    booking_model = TargetState._meta.get_field("booking").related_model
    boat_model = booking_model._meta.get_field("boat").related_model
    models = [(TargetState, "c"), (booking_model, "b"), (boat_model, "o")]
    qn = connection.ops.quote_name
    columns = ", ".join(
        f"{alias}.{qn(f.column)}" for model, alias in models for f in model._meta.concrete_fields
    )
    condition, params = _claimable_sql(force)
    state_table, booking_table, boat_table = (qn(m._meta.db_table) for m, _ in models)
    # Identifiers come from the models' metadata; every value is a parameter.
    assignments = (
        "status = %s, leased_at = %s, lease_token = %s, attempts = attempts + 1, updated_at = %s"
    )
    update = f"UPDATE {state_table} SET {assignments} WHERE id = %s AND {condition} RETURNING *"  # noqa: S608
    joins = f"JOIN {booking_table} b ON b.id = c.booking_id LEFT JOIN {boat_table} o ON o.id = b.boat_id"
    sql = f"WITH c AS ({update}) SELECT {columns} FROM c {joins}"  # noqa: S608
    cutoff = now - _lease()
    with connection.cursor() as cursor:
        cursor.execute(sql, [Status.RUNNING, now, lease_token, now, state_id, *params, cutoff])
        row = cursor.fetchone()
    if row is None:
        return None
    values = iter(row)
    state, booking, boat = (_from_row(model, values) for model, _ in models)
    booking.boat = boat if boat.pk is not None else None
    state.booking = booking
    return state


def _from_row(model: Any, values: Any) -> Any:
    """A model instance from the next values of a row, through each field's own converter."""
    fields = model._meta.concrete_fields
    row = []
    for field, value in zip(fields, values, strict=False):
        if value is not None and hasattr(field, "from_db_value"):
            value = field.from_db_value(value, None, connection)
        row.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], row)


def _record_success(state: TargetState, lease_token: str, version: int, result) -> RunOutcome:
    now = timezone.now()
    ours = TargetState.objects.filter(pk=state.pk, lease_token=lease_token)
    fields = {
        "synced_version": version,
        "detail": result.detail,
        "last_error": getattr(result, "warning", "")[:300],
        "error_detail": "",
        "attempts": 0,
        "last_synced_at": now,
        "leased_at": None,
        "lease_token": "",
        "updated_at": now,
    }
    if result.external_ref:
        fields["external_ref"] = result.external_ref
    status = Status.SKIPPED if result.skipped else Status.DONE
    if ours.filter(desired_version__lte=version).update(
        status=status, next_attempt_at=None, **fields
    ):
        return RunOutcome(state.pk, status)
    if ours.update(status=Status.PENDING, next_attempt_at=now, **fields):
        # A newer version arrived while we ran: sync it next.
        transaction.on_commit(lambda: enqueue([state.pk]))
    # Otherwise our lease expired and another worker took the row over; it records the outcome.
    return RunOutcome(state.pk, "superseded")


def _record_failure(
    state: TargetState, booking: FanoutBooking, lease_token: str, error: Exception, detail: str
) -> RunOutcome:
    now = timezone.now()
    last_error = str(error)[:300]
    attempts = state.attempts  # as claimed, this attempt included
    fields: dict[str, Any] = {
        "leased_at": None,
        "lease_token": "",
        "updated_at": now,
        "error_detail": detail[:5000],
    }
    if isinstance(error, PermanentError) or attempts >= settings.CHARTEROPS_FANOUT_MAX_ATTEMPTS:
        if isinstance(error, TransientError):
            last_error = f"Gave up after {attempts} attempts: {error}"[:300]
        outcome = RunOutcome(state.pk, "failed")
        fields.update(status=Status.FAILED, next_attempt_at=None)
    else:
        delay = backoff_seconds(attempts, retry_after=getattr(error, "retry_after", None))
        outcome = RunOutcome(state.pk, "retrying", retry_in=delay)
        fields.update(status=Status.RETRYING, next_attempt_at=now + timedelta(seconds=delay))
    ours = TargetState.objects.filter(pk=state.pk, lease_token=lease_token)
    if outcome.result != "failed":  # one statement: nothing else to write with it
        if not ours.update(last_error=last_error, **fields):
            return RunOutcome(state.pk, "superseded")
        return outcome
    with transaction.atomic():
        if not ours.update(last_error=last_error, **fields):
            return RunOutcome(state.pk, "superseded")
        if outcome.result == "failed":
            audit_log(
                f"charterops.fanout.{state.target}.failed",
                state,
                booking=booking,
                data={"error": last_error},
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
    booking: FanoutBooking, *, actor: Any = None, only_failed: bool = True
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


def booking_fanout_run(booking: FanoutBooking) -> list[RunOutcome]:
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
