"""Writing the audit trail: one row per state change, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from django.db import models

from .models import AuditEvent


def audit_log(
    action: str,
    obj: models.Model | None = None,
    *,
    actor: Any = None,
    booking: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record that ``action`` happened to ``obj``; ``actor`` is a user or None for the system."""
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    if booking is None and obj is not None and obj._meta.label == "bookings.Booking":
        booking = obj
    return AuditEvent.objects.create(
        action=action,
        actor=actor if is_user else None,
        actor_label=actor.get_username() if is_user else (str(actor) if actor else "system"),
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        booking=booking,
        data=data or {},
    )
