"""Bounces and complaints from anymail's tracking webhook mark guest messages.

The crew app's receiver (``crew/email_tracking.py``) handles crew mail; this one finds a
guest message by the provider's message id (or the ``guest_message_id`` metadata the message
carried) so staff see on the booking page that the guest was not reached.
"""

from __future__ import annotations

from typing import Any

from anymail.signals import EventType, tracking
from django.db import transaction
from django.dispatch import receiver

from charterops.audit import audit_log

from .models import GuestMessage

RETURNED = (EventType.BOUNCED, EventType.COMPLAINED)


def guest_message_email_event(
    *,
    event_type: str,
    message_id: str | None,
    description: str = "",
    guest_message_id: str | None = None,
) -> GuestMessage | None:
    """Mark the guest message ``bounced`` with the reason; one audit row. Idempotent: a
    redelivered event changes nothing more. None when the mail was not a guest message."""
    if event_type not in RETURNED:
        return None
    message = (
        GuestMessage.objects.filter(provider_message_id=message_id).first() if message_id else None
    )
    if message is None and guest_message_id and str(guest_message_id).isdigit():
        message = GuestMessage.objects.filter(pk=int(guest_message_id)).first()
    if message is None:
        return None
    reason = f"{event_type}: {description}".strip(": ")[:300]
    with transaction.atomic():
        if (
            GuestMessage.objects.filter(pk=message.pk)
            .exclude(status=GuestMessage.Status.BOUNCED)
            .update(status=GuestMessage.Status.BOUNCED, error=reason)
        ):
            audit_log(
                f"guestpages.guest_message.{event_type}",
                message,
                booking=message.booking,
                data={"reason": reason},
            )
    message.refresh_from_db()
    return message


@receiver(tracking, dispatch_uid="guestpages.email_tracking")
def guest_email_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    guest_message_email_event(
        event_type=event.event_type,
        message_id=event.message_id,
        description=event.description or event.mta_response or "",
        guest_message_id=(event.metadata or {}).get("guest_message_id"),
    )
