"""What bookings tell the readiness probe: the oldest webhook delivery stored and not applied."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Min

from .models import WebhookDelivery


def webhook_delivery_oldest_due(now: datetime) -> datetime | None:
    """When the oldest delivery still waiting to be applied (received or queued) arrived.

    Registered with ``charterops.health`` as ``webhook_delivery`` (``BookingsConfig.ready``).
    Reads only: one aggregate query; ``None`` when nothing waits.
    """
    return WebhookDelivery.objects.filter(
        outcome__in=[WebhookDelivery.Outcome.RECEIVED, WebhookDelivery.Outcome.QUEUED]
    ).aggregate(at=Min("received_at"))["at"]
