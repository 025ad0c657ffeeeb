"""Webhook deliveries: check in memory, store once, apply in a worker.

The request path (:func:`webhook_delivery_receive`) is what a marketplace waits on, so it
does the least that still answers truthfully. It checks the signature, the JSON, the schema
and the boat in memory, then stores the raw delivery together with that verdict in ONE
INSERT, its own transaction, committed before the answer; the checks are pure functions, so
nothing can fail between receiving a delivery and storing it (an unexpected exception in
them is stored as an error before the 500). A delivery that passes is stored ``queued`` and
holds its event's dedupe key (a partial unique constraint on ``WebhookDelivery``): of two
copies of one event, even concurrent ones, exactly one holds it and the other is stored and
answered ``duplicate``. The answer is then 202, and workers (:func:`webhook_deliveries_drain`)
apply queued deliveries oldest first through ``intake.booking_upsert_from_event`` (whose
``occurred_at`` rule settles events that overtake each other) and record ``accepted``,
``stale`` or ``invalid`` on the row.

What a corrected secret, boat list or payload can fix (401, 422, and an event the worker
found invalid) does not hold the key, so a replay or a fixed copy can still apply it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from bookings import intake
from bookings.intake import sources
from charterops.audit import SourceActor, audit_log

from ..models import WebhookDelivery
from ..services import bookings_batch
from ..signatures import SIGNATURE_HEADER, SignatureError, signature_verify, webhook_secrets

log = logging.getLogger(__name__)
Outcome = WebhookDelivery.Outcome
#: request headers never stored with a delivery
SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-dashboard-token"}
#: the Redis key of the drains' wake-up lease (charterops.wakeup)
DRAIN_FLAG = "charterops:webhook-drain-lease"
#: how often a woken drain looks at the queue while its lease holds
LEASE_POLL_SECONDS = 0.1
#: a worker that fails to apply a delivery tries again after 30 s, 1, 2, 4 min, then gives up
MAX_ATTEMPTS = 5
#: deliveries a drain claims and commits together (bench/webhook.py measures the effect)
CLAIM_BATCH = 50
#: drains a backlog of several batches adds beside the woken one (each on a worker thread)
DRAIN_HELPERS = 3


@dataclass
class DeliveryResult:
    """What to answer the sender; ``body()`` is the JSON of the response."""

    http_status: int
    outcome: str
    error: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)
    booking: str | None = None  # the booking's id at its source, e.g. BS-4821937
    delivery_id: int | None = None

    def body(self) -> dict[str, Any]:
        # A queued delivery is answered "accepted": stored, checked, and to be applied.
        data: dict[str, Any] = {"status": "accepted" if self.queued else self.outcome}
        if self.error:
            data["error"] = self.error
        if self.fields:
            data["fields"] = self.fields
        if self.booking is not None:
            data["booking"] = self.booking
        if self.delivery_id is not None:
            data["delivery"] = self.delivery_id
        return data

    @property
    def queued(self) -> bool:
        return self.outcome == Outcome.QUEUED


def headers_storable(headers: Any) -> dict[str, str]:
    """Request headers minus credentials (the signature is kept: replays re-verify it)."""
    return {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}


def body_storable(body: bytes) -> str:
    # PostgreSQL text cannot hold NUL; such a body is not JSON anyway and is refused.
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


# --- The request path ---------------------------------------------------------------------


def webhook_delivery_receive(
    source: str,
    *,
    body: bytes,
    headers: dict[str, str],
    remote_addr: str | None,
    now: float | None = None,
) -> DeliveryResult:
    """Check a delivery, store it with its verdict in one INSERT, and wake a worker if queued.

    Called outside any transaction (the webhook view is not atomic), so the row is committed
    when this returns; the answer never promises more than what was stored.
    """
    try:
        result, event = _check(source, body, headers, now=time.time() if now is None else now)
    except Exception as exc:  # stored all the same; the sender gets a 500 and retries
        log.exception("checking a webhook delivery from %s failed", source)
        result, event = (
            DeliveryResult(500, Outcome.ERROR, f"internal error: {type(exc).__name__}"),
            None,
        )
    if result.outcome == Outcome.BAD_SIGNATURE and _refusals_exceeded(source, remote_addr):
        message = "too many refused deliveries from this address; try again in a minute"
        return DeliveryResult(429, Outcome.BAD_SIGNATURE, message)
    fields = {
        "source": source[:40],
        "body": body_storable(body),
        "headers": headers,
        "remote_addr": remote_addr or None,
    }
    if event is not None:
        fields.update(event_id=event.id, event_type=event.type, occurred_at=event.occurred_at)
    if result.queued:
        delivery = _insert_holding_key(fields, result)
        if delivery is None:  # another copy of this event holds the key
            result = _duplicate(event.id)
            delivery = _insert(fields, result, processed=True)
        else:
            webhook_deliveries_wake()
    else:
        delivery = _insert(fields, result, processed=True)
    result.delivery_id = delivery.pk
    return result


def _refusals_exceeded(source: str, remote_addr: str | None) -> bool:
    """Whether this address sent more unauthenticated deliveries this minute than are stored.

    Only deliveries that failed the signature count, so a relay with the right secret is
    never slowed; someone without it cannot fill the table with 256 KiB bodies. The count
    lives in the cache (``CACHE_URL``: Redis in production, shared by all web processes).
    """
    limit = settings.CHARTEROPS_WEBHOOK_REFUSALS_PER_MINUTE
    key = f"webhook-refusals:{source}:{remote_addr or '-'}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        count = 1
    if count == limit + 1:
        log.warning("refused webhook deliveries from %s exceed %d a minute", remote_addr, limit)
    return count > limit


def webhook_delivery_refuse(
    source: str, *, error: str, http_status: int, headers: dict[str, str], remote_addr: str | None
) -> WebhookDelivery:
    """Store a delivery refused before its body was read (too large): its metadata only."""
    result = DeliveryResult(http_status, Outcome.INVALID, error)
    fields = {"source": source[:40], "body": "", "headers": headers, "remote_addr": remote_addr}
    return _insert(fields, result, processed=True)


def _check(
    source: str, raw: bytes, headers: dict[str, str], *, now: float
) -> tuple[DeliveryResult, intake.ParsedEvent | None]:
    """Verify, parse and validate in memory; the verdict and the event when it parsed."""
    secrets = webhook_secrets(source) if sources.NAME.match(source) else []
    if not secrets:
        message = (
            f"no webhook secret is configured for source {source!r}; deliveries from it are refused"
        )
        return DeliveryResult(401, Outcome.BAD_SIGNATURE, message), None
    try:
        signature_verify(
            raw,
            _header(headers, SIGNATURE_HEADER),
            secrets,
            now=now,
            tolerance=settings.CHARTEROPS_WEBHOOK_TOLERANCE_SECONDS,
        )
    except SignatureError as exc:
        return DeliveryResult(401, Outcome.BAD_SIGNATURE, str(exc)), None
    try:
        event = intake.event_parse(raw)
    except intake.MalformedBody as exc:
        return DeliveryResult(400, Outcome.INVALID, str(exc)), None
    except intake.InvalidPayload as exc:
        return DeliveryResult(422, Outcome.INVALID, "invalid event", fields=exc.errors), None
    if not event.known:
        message = f"event type {event.type!r} is not handled"
        return DeliveryResult(200, Outcome.IGNORED, message), event
    assert event.booking is not None
    try:
        intake.booking_payload_precheck(event.booking)
    except intake.InvalidPayload as exc:
        return DeliveryResult(422, Outcome.INVALID, "invalid booking", fields=exc.errors), event
    return DeliveryResult(202, Outcome.QUEUED, booking=event.booking.id), event


def _insert(fields: dict[str, Any], result: DeliveryResult, *, processed: bool) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        **fields,
        outcome=result.outcome,
        http_status=result.http_status,
        error=_error_text(result),
        processed_at=timezone.now() if processed else None,
    )


def _insert_holding_key(fields: dict[str, Any], result: DeliveryResult) -> WebhookDelivery | None:
    """Store a queued delivery with its event's key; None if another delivery holds the key.

    Outside a transaction the INSERT is its own transaction and a unique violation leaves
    the connection usable; inside one (a test, a caller's block) a savepoint keeps it so.
    """
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                return _insert({**fields, "holds_event_key": True}, result, processed=False)
        return _insert({**fields, "holds_event_key": True}, result, processed=False)
    except IntegrityError:
        if WebhookDelivery.objects.filter(
            source=fields["source"], event_id=fields["event_id"], holds_event_key=True
        ).exists():
            return None
        raise


def _duplicate(event_id: str) -> DeliveryResult:
    return DeliveryResult(200, Outcome.DUPLICATE, f"event {event_id} was already received")


def webhook_deliveries_wake() -> None:
    """Make sure a worker drains the queue after this (committed) delivery."""
    from charterops.wakeup import task_wake

    from ..tasks import webhook_deliveries_drain_task

    task_wake(webhook_deliveries_drain_task, flag=drain_flag(), queue=intake_queue())


def intake_queue() -> str:
    return settings.CHARTEROPS_INTAKE_QUEUE


def drain_flag() -> str:
    # One flag per queue: deployments (or test sessions) on other queues never mute this one.
    return f"{DRAIN_FLAG}:{intake_queue() or 'default'}"


# --- The worker ---------------------------------------------------------------------------


def webhook_deliveries_drain(
    *, lease_token: str | None = None, limit: int = 500, seconds: float = 30.0
) -> tuple[int, bool]:
    """Apply queued deliveries that are due, oldest first; (how many, whether some remain).

    Woken with a ``lease_token`` (charterops.wakeup), the drain keeps watching the queue
    while its lease holds, because web processes that know of the lease do not wake anyone
    for the deliveries they store meanwhile; after the lease it looks one last time. Several
    drains may run at once: each claims a row with ``FOR UPDATE SKIP LOCKED`` and applies it
    in the same transaction, so a delivery is applied once whoever runs. Deliveries are
    claimed ``CLAIM_BATCH`` at a time: one claim query and one commit per batch, which is
    what lets a worker keep up with the door.
    """
    from charterops.wakeup import lease_alive

    deadline = time.monotonic() + seconds
    done = 0
    _helpers_wake()
    while done < limit and time.monotonic() < deadline:
        size = min(CLAIM_BATCH, limit - done)
        if applied := webhook_deliveries_apply_batch(size):
            done += applied
        elif lease_alive(drain_flag(), lease_token):
            time.sleep(LEASE_POLL_SECONDS)
        elif applied := webhook_deliveries_apply_batch(size):  # the last look, after the lease
            done += applied
        else:
            return done, False
    return done, webhook_deliveries_due().exists()


def _helpers_wake() -> int:
    """A backlog of several batches gets up to DRAIN_HELPERS more drains, on other threads.

    One drain applies its batches one after the other and spends most of its time waiting
    on the database and the broker; the helpers (``webhook_deliveries_help``) claim other
    batches meanwhile (SKIP LOCKED keeps them apart). Not in eager mode, where a task would
    run inline. Returns how many were published.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return 0
    backlog = webhook_deliveries_due().count()
    helpers = min(DRAIN_HELPERS, backlog // CLAIM_BATCH - 1)
    if helpers <= 0:
        return 0
    from ..tasks import webhook_deliveries_help_task

    for _ in range(helpers):
        webhook_deliveries_help_task.apply_async(queue=intake_queue() or None)
    return helpers


def webhook_deliveries_help(*, limit: int = 500, seconds: float = 30.0) -> int:
    """A helper drain: apply full batches while there are some; how many it applied.

    Stops at the first batch that is not full, so helpers end with the backlog and the
    woken drain (which watches its lease) takes what trickles in after.
    """
    deadline = time.monotonic() + seconds
    done = 0
    while done < limit and time.monotonic() < deadline:
        applied = webhook_deliveries_apply_batch(CLAIM_BATCH)
        done += applied
        if applied < CLAIM_BATCH:
            break
    return done


def webhook_deliveries_due():
    now = timezone.now()
    return WebhookDelivery.objects.filter(outcome=Outcome.QUEUED).filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    )


class _BatchFailed(Exception):
    """A delivery of an optimistic batch failed: roll the batch back, apply it carefully."""


def webhook_deliveries_apply_batch(size: int = 1) -> int:
    """Claim up to ``size`` due deliveries, oldest first, apply each; how many were claimed.

    One transaction (the outermost: durable) for the batch: the claim skips rows another
    drain holds, and one commit publishes them all, their fan-out enqueued after it.
    Bookings a batch changed stay locked until that commit; a batch of another drain that
    needs one of them waits, and the stale rule orders events whichever batch applies them.

    The batch is first applied optimistically (``_apply_optimistic``): its bookings locked
    in one query, no savepoint per delivery or per booking INSERT, the audit rows written
    in one INSERT and the deliveries' outcomes in one UPDATE. Should any delivery fail, the
    whole batch rolls back, nothing of it written, and is claimed and applied again
    carefully: each delivery in its own savepoint, so one that fails is recorded (invalid,
    or queued for a retry) and the others still apply. Boats are resolved once per batch
    (``boat_resolve_memo``).
    """
    try:
        return _apply_batch(size, careful=False)
    except _BatchFailed:
        return _apply_batch(size, careful=True)


def _apply_batch(size: int, *, careful: bool) -> int:
    with transaction.atomic(durable=True), intake.boat_resolve_memo():
        batch = list(
            webhook_deliveries_due()
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("id")[:size]
        )
        if careful:
            for delivery in batch:
                _apply(delivery)
        elif batch:
            _apply_optimistic(batch)
    return len(batch)


def _apply_optimistic(batch: list[WebhookDelivery]) -> None:
    """Apply the claimed deliveries in the caller's transaction; raise _BatchFailed on any error.

    Per new booking this leaves its INSERT and its fan-out rows; the lock of the batch's
    bookings, the double-booking check of the new ones, the audit rows and the outcomes
    are one statement each for the whole batch (``intake.bookings_locked``,
    ``services.bookings_batch``, ``_outcomes_write``).
    """
    try:
        events = [intake.event_parse(delivery.body) for delivery in batch]
        keys = [(d.source, e.booking.id) for d, e in zip(batch, events, strict=True) if e.booking]
        with intake.bookings_locked(keys), bookings_batch():
            for delivery, event in zip(batch, events, strict=True):
                _apply(delivery, event=event, careful=False, save=False)
        _outcomes_write(batch)
    except _BatchFailed:
        raise
    except Exception as exc:
        raise _BatchFailed from exc


#: what a delivery's outcome writes on its row
_RECORDED_FIELDS = ["outcome", "http_status", "error", "processed_at", "retry_at", "booking"]


def _outcomes_write(batch: list[WebhookDelivery]) -> None:
    """Write what ``_record(save=False)`` set on the deliveries: one UPDATE per outcome.

    The deliveries of one outcome differ only in their booking, given by one CASE. Plain
    SQL: Django's ``bulk_update`` resolves a CASE per field and row, which cost more Python
    time than the round trips it saves (identifiers from the model, every value a parameter).
    """
    groups: dict[tuple[str, int | None, str], list[WebhookDelivery]] = {}
    for delivery in batch:
        key = (delivery.outcome, delivery.http_status, delivery.error)
        groups.setdefault(key, []).append(delivery)
    meta, qn = WebhookDelivery._meta, connection.ops.quote_name
    column = {name: qn(meta.get_field(name).column) for name in _RECORDED_FIELDS}
    pk = qn(meta.pk.column)
    now = timezone.now()
    for (outcome, http_status, error), rows in groups.items():
        cases = " ".join(["WHEN %s THEN %s"] * len(rows))
        marks = ", ".join(["%s"] * len(rows))
        sql = (
            f"UPDATE {qn(meta.db_table)} SET {column['outcome']} = %s, "  # noqa: S608
            f"{column['http_status']} = %s, {column['error']} = %s, "
            f"{column['processed_at']} = %s, {column['retry_at']} = NULL, "
            f"{column['booking']} = CASE {pk} {cases} END WHERE {pk} IN ({marks})"
        )
        params: list[Any] = [outcome, http_status, error, now]
        for delivery in rows:
            delivery.processed_at = now
            params += [delivery.pk, delivery.booking_id]
        params += [delivery.pk for delivery in rows]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def webhook_delivery_apply_next() -> bool:
    """Claim the oldest due delivery and apply it; False when none is due."""
    return webhook_deliveries_apply_batch(1) == 1


def _apply(
    delivery: WebhookDelivery,
    *,
    answered: bool = False,
    careful: bool = True,
    event: intake.ParsedEvent | None = None,
    save: bool = True,
) -> DeliveryResult:
    """Apply a locked, queued delivery in the caller's transaction; record the outcome.

    ``careful``: in a savepoint, so that a failure undoes only this delivery's work and is
    recorded on it. Otherwise any failure raises ``_BatchFailed`` (the caller rolls back).
    ``event``: the delivery's body, parsed already. ``save``: False leaves the outcome on
    the instance for the caller to write (``_outcomes_write``).
    """
    try:
        if event is None:
            event = intake.event_parse(delivery.body)
        assert event.booking is not None
        # a savepoint: on failure only the booking work is undone
        with transaction.atomic() if careful else contextlib.nullcontext():
            applied = intake.booking_upsert_from_event(
                delivery.source,
                event.booking,
                actor=SourceActor(f"webhook:{delivery.source}"),
                occurred_at=event.occurred_at,
                event_id=event.id,
                via="webhook",
                event_type=event.type,
            )
    except Exception as exc:
        if not careful:
            raise _BatchFailed from exc
        return _apply_failed(delivery, exc, answered=answered)
    delivery.booking_id = applied.booking.pk
    if applied.outcome == "stale":
        message = "an event that occurred later was already applied to this booking"
        result = DeliveryResult(200, Outcome.STALE, message, booking=applied.booking.external_id)
    else:
        result = DeliveryResult(202, Outcome.ACCEPTED, booking=applied.booking.external_id)
    _record(delivery, result, answered=answered, save=save)
    return result


def _apply_failed(delivery: WebhookDelivery, exc: Exception, *, answered: bool) -> DeliveryResult:
    """Record why applying failed: invalid for good, or queued again for a retry."""
    if isinstance(exc, (intake.InvalidPayload, intake.MalformedBody)):
        fields = getattr(exc, "errors", {})
        result = DeliveryResult(422, Outcome.INVALID, "invalid booking", fields=fields)
        delivery.holds_event_key = None  # a corrected copy or a replay may apply the event
        _record(delivery, result, answered=answered)
        return result
    log.error("applying webhook delivery %s failed", delivery.pk, exc_info=exc)
    return _failed(delivery, exc, answered=answered)


def _failed(delivery: WebhookDelivery, exc: Exception, *, answered: bool) -> DeliveryResult:
    """Try again later with backoff; after MAX_ATTEMPTS the delivery is an error to replay."""
    delivery.attempts += 1
    message = f"internal error: {type(exc).__name__}: {exc}"[:2000]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.holds_event_key = None
        result = DeliveryResult(500, Outcome.ERROR, message)
        _record(delivery, result, answered=answered)
        return result
    delivery.retry_at = timezone.now() + timedelta(seconds=30 * 2 ** (delivery.attempts - 1))
    delivery.error = f"attempt {delivery.attempts} of {MAX_ATTEMPTS}: {message}"
    delivery.save(update_fields=["outcome", "holds_event_key", "attempts", "retry_at", "error"])
    return DeliveryResult(500, Outcome.QUEUED, message)


def _record(
    delivery: WebhookDelivery, result: DeliveryResult, *, answered: bool = False, save: bool = True
) -> None:
    """The outcome on the row; ``http_status`` changes only with an answer (``answered``).

    A worker's outcome leaves it at the 202 the sender got; a replay's answer replaces it.
    ``save``: False sets it on the instance only (the caller writes the batch's rows).
    """
    delivery.outcome = result.outcome
    if answered or delivery.http_status is None:
        delivery.http_status = result.http_status
    delivery.error = _error_text(result)
    delivery.processed_at = timezone.now()
    delivery.retry_at = None
    if not save:
        return
    delivery.save(
        update_fields=[
            "outcome",
            "http_status",
            "error",
            "processed_at",
            "retry_at",
            "attempts",
            "event_id",
            "event_type",
            "occurred_at",
            "booking",
            "holds_event_key",
        ]
    )


def _error_text(result: DeliveryResult) -> str:
    if not result.fields:
        return result.error
    lines = [f"{path}: {' '.join(msgs)}" for path, msgs in result.fields.items()]
    return "\n".join([result.error, *lines])


def _header(headers: dict[str, str], name: str) -> str:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), "")


# --- Replays ------------------------------------------------------------------------------


def webhook_delivery_replay(delivery: WebhookDelivery, *, actor: Any = None) -> DeliveryResult:
    """Process a stored delivery again, now (e.g. after its source's secret or a boat was fixed).

    The signature is checked with today's secrets against the time the delivery was received,
    so an old delivery verifies while a forged one still fails. A delivery that passes is
    applied at once, not queued, so the admin and the command show the final outcome. Safe
    to repeat: an event that was already applied answers ``duplicate``.
    """
    result = _replay(delivery)
    result.delivery_id = delivery.pk
    audit_log(
        "bookings.webhook_delivery.replayed",
        delivery,
        actor=actor,
        data={"outcome": result.outcome, "http_status": result.http_status},
    )
    return result


def _replay(delivery: WebhookDelivery) -> DeliveryResult:
    raw = delivery.body.encode()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.holds_event_key and delivery.outcome in (Outcome.ACCEPTED, Outcome.STALE):
            return _duplicate(delivery.event_id)
        result, event = _check(
            delivery.source, raw, delivery.headers, now=delivery.received_at.timestamp()
        )
        if event is not None:
            delivery.event_id, delivery.event_type = event.id, event.type
            delivery.occurred_at = event.occurred_at
        if not result.queued:
            delivery.holds_event_key = None
            _record(delivery, result, answered=True)
            return result
        if not delivery.holds_event_key and not _claim_key(delivery):
            result = _duplicate(event.id)
            _record(delivery, result, answered=True)
            return result
        delivery.outcome = Outcome.QUEUED  # should applying fail, the workers retry it
        return _apply(delivery, answered=True)


def _claim_key(delivery: WebhookDelivery) -> bool:
    try:
        with transaction.atomic():
            delivery.holds_event_key = True
            delivery.save(update_fields=["holds_event_key", "event_id"])
            return True
    except IntegrityError:
        delivery.holds_event_key = None
        return False


def webhook_deliveries_failed():
    """Deliveries a replay may fix: bad signature, invalid, errored, or stuck (>5 min)."""
    stuck_before = timezone.now() - timedelta(minutes=5)
    return WebhookDelivery.objects.filter(
        Q(outcome__in=[Outcome.BAD_SIGNATURE, Outcome.INVALID, Outcome.ERROR])
        | Q(outcome__in=[Outcome.RECEIVED, Outcome.QUEUED], received_at__lt=stuck_before)
    ).exclude(http_status__in=[400, 413])
