"""The outbox: every message that leaves CharterOps is a row, claimed, sent outside any
transaction, and recorded under the claim.

One discipline for crew notifications, staff notices and (later) guest messages, the same
as the fan-out engine's (``charterops/fanout/engine.py``):

1. **claim** the row with one conditional UPDATE (queued, retrying and due, or in flight
   with an expired lease → ``sending`` with a fresh lease token and ``attempts + 1``); the
   UPDATE commits on its own, so no lock is held past that one statement and no joined
   row (booking, boat, member) is ever locked;
2. **send** through the provider, outside any transaction;
3. **record** the outcome with an UPDATE filtered on the lease token: a worker whose lease
   expired and was taken over records nothing.

Outcomes: ``sent`` (provider message id kept), ``superseded`` (a newer message replaced it
before it was sent: not a failure), ``failed`` (permanent: a reason staff can act on, or
transient errors past ``CHARTEROPS_OUTBOX_MAX_ATTEMPTS``), ``retrying`` (transient: next
attempt after exponential backoff with full jitter). A row that could not be claimed is
``busy`` (another worker holds a live lease) or ``waiting`` (its next attempt is not due):
work still to do, never success.

The gap left, by design: a worker that dies after the provider accepted a message and
before ``sent`` is recorded leaves the row ``sending``; once its lease expires the next
delivery (a fan-out retry or ``outbox_sweep``) sends it again. At-least-once, the window is
one provider call.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, make_msgid
from django.db import models
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from charterops.fanout.errors import backoff_seconds, classify
from charterops.fanout.targets import PermanentError

__all__ = [
    "OutboxMessage",
    "OutboxStatus",
    "Superseded",
    "outbox_deliver",
    "outbox_due",
    "outbox_lease",
    "outbox_sweep",
    "told_diff",
    "SETTLED",
    "UNSETTLED",
]

log = logging.getLogger(__name__)


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Retrying"
    SENT = "sent", "Sent"
    SUPERSEDED = "superseded", "Superseded"
    FAILED = "failed", "Failed"
    BOUNCED = "bounced", "Bounced"


#: nothing more will be sent for these rows (bounced: sent, then returned by the provider).
SETTLED = (
    OutboxStatus.SENT,
    OutboxStatus.SUPERSEDED,
    OutboxStatus.FAILED,
    OutboxStatus.BOUNCED,
)
UNSETTLED = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.RETRYING)


class OutboxMessage(models.Model):
    """The state every outgoing message keeps: status, lease, attempts, next attempt, error."""

    Status = OutboxStatus

    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    error = models.CharField(max_length=300, blank=True, help_text="The last error, if any.")
    provider_message_id = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class Superseded(Exception):
    """Raised by a sender when a newer message already replaced this one: nothing is sent."""


def outbox_lease() -> timedelta:
    """How long a claim lasts; past it, another delivery may take the row over."""
    return timedelta(seconds=settings.CHARTEROPS_OUTBOX_LEASE_SECONDS)


def _claimable(now: datetime) -> Q:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return (
        Q(status=OutboxStatus.QUEUED)
        | (Q(status=OutboxStatus.RETRYING) & due)
        | Q(status=OutboxStatus.SENDING, leased_at__lte=now - outbox_lease())
    )


def outbox_due[M: OutboxMessage](
    queryset: QuerySet[M], *, now: datetime | None = None
) -> QuerySet[M]:
    """The rows of ``queryset`` a delivery could claim now (what a sweep picks up)."""
    return queryset.filter(_claimable(now or timezone.now()))


#: a queued row younger than this is left to the task its commit enqueued
SWEEP_GRACE = timedelta(seconds=60)


def outbox_sweep[M: OutboxMessage](
    queryset: QuerySet[M], deliver: Callable[[int], str], *, limit: int = 200
) -> dict[str, int]:
    """Deliver the rows of ``queryset`` that are due (retrying and due, queued for more than
    ``SWEEP_GRACE``, or in flight with an expired lease), oldest first, at most ``limit``;
    returns how many ended each way. What beat runs for each outbox; idempotent."""
    grace = timezone.now() - SWEEP_GRACE
    due = outbox_due(queryset).exclude(status=OutboxStatus.QUEUED, created_at__gt=grace)
    counts: dict[str, int] = {}
    for pk in due.order_by("id").values_list("pk", flat=True)[:limit]:
        outcome = deliver(pk)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def outbox_deliver[M: OutboxMessage](
    queryset: QuerySet[M],
    pk: int,
    *,
    send: Callable[[M], str],
    on_sent: Callable[[M], None] | None = None,
    on_failed: Callable[[M], None] | None = None,
) -> str:
    """Send one outbox row at most once per claim; returns what happened to it.

    ``queryset`` selects the model (and the relations ``send`` reads); ``send(row)`` calls
    the provider and returns its message id, raising ``Superseded``, a ``PermanentError``
    or anything else (sorted by ``classify``: throttling, timeouts, 5xx are transient).
    ``on_sent`` / ``on_failed`` run after the outcome is recorded under the claim (side
    effects on other rows, a staff notice); they never run for a claim that was lost.

    Returns ``sent``, ``superseded``, ``failed``, ``retrying`` (transient, next attempt
    set), ``busy`` (another worker holds a live lease), ``waiting`` (not due yet),
    ``settled`` (already sent/superseded/failed) or ``lost`` (our lease was taken over
    while sending; the other worker records the outcome). Must not be called inside a
    transaction that outlives it: the claim has to commit before the provider is called.
    """
    model = queryset.model
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = model._default_manager.filter(_claimable(now), pk=pk).update(
        status=OutboxStatus.SENDING,
        leased_at=now,
        lease_token=token,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return _why_not_claimed(model, pk, now)
    row = queryset.get(pk=pk)
    ours = model._default_manager.filter(pk=pk, lease_token=token, status=OutboxStatus.SENDING)
    try:
        provider_id = send(row)
    except Superseded as exc:
        return _record(ours, row, OutboxStatus.SUPERSEDED, error=str(exc)[:300]) or "lost"
    except Exception as exc:  # sorted below: every provider error is transient or permanent
        error = classify(exc)
        reason = str(error)[:300]
        if isinstance(error, PermanentError):
            outcome = _record(ours, row, OutboxStatus.FAILED, error=reason)
        elif row.attempts >= settings.CHARTEROPS_OUTBOX_MAX_ATTEMPTS:
            reason = f"Gave up after {row.attempts} attempts: {error}"[:300]
            outcome = _record(ours, row, OutboxStatus.FAILED, error=reason)
        else:
            delay = backoff_seconds(row.attempts, retry_after=getattr(error, "retry_after", None))
            outcome = _record(
                ours,
                row,
                OutboxStatus.RETRYING,
                error=reason,
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
            )
        if outcome == OutboxStatus.FAILED and on_failed is not None:
            on_failed(row)
        log.info("outbox %s %s: %s (%s)", model._meta.label, pk, outcome or "lost", reason)
        return outcome or "lost"
    outcome = _record(
        ours, row, OutboxStatus.SENT, provider_message_id=provider_id[:200], sent_at=timezone.now()
    )
    if outcome and on_sent is not None:
        on_sent(row)
    return outcome or "lost"


def _record(ours: QuerySet, row: OutboxMessage, status: str, **fields: Any) -> str:
    fields.setdefault("error", "")
    fields.setdefault("next_attempt_at", None)
    if not ours.update(status=status, leased_at=None, lease_token="", **fields):
        return ""
    row.status = status
    for name, value in fields.items():
        setattr(row, name, value)
    return status


def _why_not_claimed(model: type[OutboxMessage], pk: int, now: datetime) -> str:
    row = model._default_manager.filter(pk=pk).values("status", "leased_at").first()
    if row is None or row["status"] in SETTLED:
        return "settled"
    if row["status"] == OutboxStatus.SENDING:
        return "busy"
    return "waiting"


def outbox_email_send(
    row: OutboxMessage,
    *,
    subject: str,
    text: str,
    html: str,
    to: str,
    tags: list[str],
    metadata: dict[str, str],
) -> str:
    """Send one outbox row's email (text and HTML); returns the provider's message id.

    The row travels in the Message-ID (``<model>-<pk>``), so a copy sent again after a crash
    mid-send (the outbox's at-least-once window) can be traced to its row; anymail's tags
    and metadata come back in tracking events. Not idempotent: the outbox's claim is.
    """
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ")
    label = f"{row._meta.app_label}-{row._meta.model_name}-{row.pk}"
    message_id = make_msgid(idstring=label, domain=domain)
    message = EmailMultiAlternatives(subject, text, to=[to], headers={"Message-ID": message_id})
    message.attach_alternative(html, "text/html")
    message.tags = tags
    message.metadata = metadata
    message.send()
    status = getattr(message, "anymail_status", None)
    return (status.message_id if status is not None else None) or message_id


def told_diff(
    told: dict[str, str],
    now: dict[str, str],
    *,
    facts: tuple[str, ...],
    describe_time: Callable[[dict[str, str]], str],
) -> dict[str, list[str]]:
    """{fact: [what the recipient was told, what is true now]} for each fact that changed,
    between two snapshots of a booking (a message's ``told`` and the booking now); the time
    (``start``/``end``) as one fact, worded by ``describe_time``."""
    diff: dict[str, list[str]] = {}
    if (told.get("start"), told.get("end")) != (now["start"], now["end"]):
        diff["time"] = [describe_time(told) if told.get("start") else "", describe_time(now)]
    for fact in facts:
        if told.get(fact) != now[fact]:
            diff[fact] = [told.get(fact, ""), now[fact]]
    return diff
