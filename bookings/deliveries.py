"""Webhook deliveries: store the raw delivery first, then verify, parse, dedupe and apply it.

A delivery row is written in its own transaction before anything is checked, so nothing a
marketplace sent is ever lost; its outcome and HTTP status are recorded on the same row.
The dedupe key (``WebhookEvent``, unique on source and event id) is inserted in the
transaction that applies the event: of two concurrent copies exactly one commits an effect,
the other fails the constraint and is answered ``duplicate``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from charterops.audit import audit_log

from . import intake
from .models import WebhookDelivery, WebhookEvent
from .signatures import SIGNATURE_HEADER, SignatureError, signature_verify, webhook_secrets

log = logging.getLogger(__name__)
Outcome = WebhookDelivery.Outcome
#: request headers never stored with a delivery
SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-dashboard-token"}


@dataclass
class DeliveryResult:
    """What to answer the sender; ``body()`` is the JSON of the response."""

    http_status: int
    outcome: str
    error: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)
    booking_id: int | None = None
    delivery_id: int | None = None

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.outcome}
        if self.error:
            data["error"] = self.error
        if self.fields:
            data["fields"] = self.fields
        if self.booking_id is not None:
            data["booking"] = self.booking_id
        if self.delivery_id is not None:
            data["delivery"] = self.delivery_id
        return data


def headers_storable(headers: Any) -> dict[str, str]:
    """Request headers minus credentials (the signature is kept: replays re-verify it)."""
    return {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}


def body_storable(body: bytes) -> str:
    # PostgreSQL text cannot hold NUL; such a body is not JSON anyway and is refused.
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def webhook_delivery_store(
    source: str,
    *,
    body: bytes,
    headers: dict[str, str],
    remote_addr: str | None,
    error: str = "",
    http_status: int | None = None,
) -> WebhookDelivery:
    """Write the raw delivery and commit it at once (it survives whatever processing does).

    Called outside any transaction (the webhook view is not atomic), a single INSERT in
    autocommit mode is its own transaction; no explicit BEGIN/COMMIT round trips.
    """
    return WebhookDelivery.objects.create(
        source=source[:40],
        body=body_storable(body),
        headers=headers,
        remote_addr=remote_addr or None,
        error=error,
        http_status=http_status,
        outcome=Outcome.INVALID if http_status else Outcome.RECEIVED,
        processed_at=timezone.now() if http_status else None,
    )


def webhook_delivery_process(
    delivery: WebhookDelivery, *, body: bytes | None = None, now: float | None = None
) -> DeliveryResult:
    """Verify, parse, dedupe and apply a stored delivery; record the outcome on its row.

    ``now`` is the moment the signature's timestamp is checked against: the request time for
    a live delivery, the time it was received for a replay. Idempotent per event id: once an
    event was applied (or found stale) every further copy is a ``duplicate`` with no effect.
    Errors that a corrected secret or boat list can fix (401, 422) leave the event unprocessed,
    so a replay can apply it later.
    """
    raw = body if body is not None else delivery.body.encode()
    try:
        result = _process(delivery, raw, now=time.time() if now is None else now)
    except Exception as exc:  # the row must say what happened; the sender gets a 500 and retries
        log.exception("webhook delivery %s failed", delivery.pk)
        result = DeliveryResult(500, Outcome.ERROR, f"internal error: {type(exc).__name__}")
    result.delivery_id = delivery.pk
    if result.outcome not in (Outcome.ACCEPTED, Outcome.STALE):  # those are saved with the effect
        _record(delivery, result)
    return result


def _process(delivery: WebhookDelivery, raw: bytes, *, now: float) -> DeliveryResult:
    secrets = webhook_secrets(delivery.source)
    if not secrets:
        return DeliveryResult(
            401,
            Outcome.BAD_SIGNATURE,
            f"no webhook secret is configured for source {delivery.source!r}; "
            "deliveries from it are refused",
        )
    header = _header(delivery.headers, SIGNATURE_HEADER)
    try:
        signature_verify(
            raw,
            header,
            secrets,
            now=now,
            tolerance=settings.CHARTEROPS_WEBHOOK_TOLERANCE_SECONDS,
        )
    except SignatureError as exc:
        return DeliveryResult(401, Outcome.BAD_SIGNATURE, str(exc))
    try:
        event = intake.event_parse(raw)
    except intake.MalformedBody as exc:
        return DeliveryResult(400, Outcome.INVALID, str(exc))
    except intake.InvalidPayload as exc:
        return DeliveryResult(422, Outcome.INVALID, "invalid event", fields=exc.errors)
    delivery.event_id = event.id
    delivery.event_type = event.type
    delivery.occurred_at = event.occurred_at
    if not event.known:
        return DeliveryResult(200, Outcome.IGNORED, f"event type {event.type!r} is not handled")
    return _apply(delivery, event)


def _apply(delivery: WebhookDelivery, event: intake.ParsedEvent) -> DeliveryResult:
    assert event.booking is not None
    try:
        with transaction.atomic():
            key = WebhookEvent.objects.create(
                source=delivery.source, event_id=event.id, delivery=delivery, outcome="accepted"
            )
            applied = intake.booking_upsert_from_event(
                delivery.source,
                event.booking,
                actor=f"webhook:{delivery.source}",
                occurred_at=event.occurred_at,
                via="webhook",
                event_type=event.type,
            )
            if applied.outcome == "stale":
                key.outcome = "stale"
                key.save(update_fields=["outcome"])
                result = DeliveryResult(
                    200,
                    Outcome.STALE,
                    "an event that occurred later was already applied to this booking",
                    booking_id=applied.booking.pk,
                )
            else:
                result = DeliveryResult(202, Outcome.ACCEPTED, booking_id=applied.booking.pk)
            delivery.booking_id = applied.booking.pk
            _record(delivery, result)
            return result
    except intake.InvalidPayload as exc:
        return DeliveryResult(422, Outcome.INVALID, "invalid booking", fields=exc.errors)
    except IntegrityError:
        # Either a committed copy of this event holds the key, or something else broke.
        if WebhookEvent.objects.filter(source=delivery.source, event_id=event.id).exists():
            return DeliveryResult(200, Outcome.DUPLICATE, f"event {event.id} was already processed")
        raise


def _record(delivery: WebhookDelivery, result: DeliveryResult) -> None:
    delivery.outcome = result.outcome
    delivery.http_status = result.http_status
    delivery.error = _error_text(result)
    delivery.processed_at = timezone.now()
    delivery.save(
        update_fields=[
            "outcome",
            "http_status",
            "error",
            "processed_at",
            "event_id",
            "event_type",
            "occurred_at",
            "booking",
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


def webhook_delivery_replay(delivery: WebhookDelivery, *, actor: Any = None) -> DeliveryResult:
    """Process a stored delivery again (e.g. after its source's secret or a boat was fixed).

    The signature is checked with today's secrets against the time the delivery was received,
    so an old delivery verifies while a forged one still fails. Safe to repeat: an event that
    was already applied answers ``duplicate``.
    """
    result = webhook_delivery_process(delivery, now=delivery.received_at.timestamp())
    audit_log(
        "bookings.webhook_delivery.replayed",
        delivery,
        actor=actor,
        data={"outcome": result.outcome, "http_status": result.http_status},
    )
    return result


def webhook_deliveries_failed():
    """Deliveries a replay may fix: bad signature, invalid, errored, or left mid-way (>5 min)."""
    stuck_before = timezone.now() - timezone.timedelta(minutes=5)
    return WebhookDelivery.objects.filter(
        Q(outcome__in=[Outcome.BAD_SIGNATURE, Outcome.INVALID, Outcome.ERROR])
        | Q(outcome=Outcome.RECEIVED, received_at__lt=stuck_before)
    ).exclude(http_status__in=[400, 413])
