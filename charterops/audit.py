"""Writing the audit trail: one row per state change, in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models

from .models import AuditEvent


@dataclass(frozen=True)
class SourceActor:
    """A named source acting without a person: ``webhook:boatsetter``, ``api:dispatch-board``."""

    name: str

    def __str__(self) -> str:
        return self.name


#: who did it: a user, a named source, or None for the system itself
Actor = Any


def actor_describe(actor: Actor) -> tuple[str, Any, str]:
    """(kind, user or None, label) of an actor; a bare string is read as a source's name."""
    if actor is not None and getattr(actor, "is_authenticated", False):
        return AuditEvent.ActorKind.USER, actor, actor.get_username()
    if isinstance(actor, SourceActor | str) and str(actor):
        return AuditEvent.ActorKind.SOURCE, None, str(actor)[:150]
    return AuditEvent.ActorKind.SYSTEM, None, "system"


def audit_log(
    action: str,
    obj: models.Model | None = None,
    *,
    actor: Any = None,
    booking: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record that ``action`` happened to ``obj``; ``actor`` is a user, a ``SourceActor`` or None."""
    kind, user, label = actor_describe(actor)
    if booking is None and obj is not None and obj._meta.label == "bookings.Booking":
        booking = obj
    return AuditEvent.objects.create(
        action=action,
        actor=user,
        actor_kind=kind,
        actor_label=label,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        booking=booking,
        data=data or {},
    )
