"""Bounces and complaints from anymail's tracking webhook (SES through SNS) mark crew mail.

anymail verifies the webhook (HTTP basic auth with ``ANYMAIL_WEBHOOK_SECRET``, SNS headers)
and sends its ``tracking`` signal; the receiver here only finds the notification and calls
``notification_email_event``.
"""

from __future__ import annotations

from typing import Any

from anymail.signals import EventType, tracking
from django.db import transaction
from django.dispatch import receiver

from charterops.audit import audit_log

from .models import CrewMember, Notification

FLAGGING_EVENTS = (EventType.BOUNCED, EventType.COMPLAINED)


def notification_email_event(
    *,
    event_type: str,
    message_id: str | None,
    recipient: str | None,
    description: str = "",
    notification_id: str | None = None,
) -> Notification | None:
    """Record a bounce or complaint on the notification and flag the member's address.

    A transient (soft) bounce marks the notification but does not flag the address.
    Idempotent: a redelivered event changes nothing more and writes no second audit row.
    Returns the notification, or None when the message is not a crew notification.
    """
    if event_type not in FLAGGING_EVENTS:
        return None
    rows = Notification.objects.select_related("member")
    note = rows.filter(provider_message_id=message_id).first() if message_id else None
    if note is None and notification_id and str(notification_id).isdigit():
        note = rows.filter(pk=int(notification_id)).first()
    if note is None:
        return None
    soft = description.lower().startswith("transient")
    reason = f"{event_type}: {description}".strip(": ")[:200]
    with transaction.atomic():
        marked = (
            Notification.objects.filter(pk=note.pk)
            .exclude(status=Notification.Status.BOUNCED)
            .update(status=Notification.Status.BOUNCED, error=reason[:300])
        )
        flagged = 0
        if not soft and (recipient is None or recipient.lower() == note.member.email.lower()):
            flagged = (
                CrewMember.objects.filter(pk=note.member_id)
                .exclude(email_flagged=reason)
                .update(email_flagged=reason)
            )
        if marked or flagged:
            audit_log(
                f"crew.notification.{event_type}",
                note,
                booking=note.booking,
                data={"reason": reason, "address_flagged": bool(flagged)},
            )
    note.refresh_from_db()
    return note


@receiver(tracking, dispatch_uid="crew.email_tracking")
def crew_email_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    notification_email_event(
        event_type=event.event_type,
        message_id=event.message_id,
        recipient=event.recipient,
        description=event.description or event.mta_response or "",
        notification_id=(event.metadata or {}).get("notification_id"),
    )
