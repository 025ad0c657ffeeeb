"""Writing the audit trail: one row per state change, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
#: rows written together at the end of an ``audit_batch`` block (None: outside one)
_pending: ContextVar[list[AuditEvent] | None] = ContextVar("audit_pending", default=None)


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
    event = AuditEvent(
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
    pending = _pending.get()
    if pending is None:
        event.save()
    else:
        pending.append(event)  # saved (and given its id) when the batch ends
    return event


@contextmanager
def audit_batch() -> Iterator[None]:
    """Within this block, audit rows are written together, in one INSERT, as it ends.

    For a block inside the transaction of the changes that rolls back whole on any error (a
    worker's optimistic batch of webhook deliveries): the rows commit or roll back with the
    changes, in the order of the changes. A row of work a savepoint inside the block undid
    would still be written, so such a block must not catch errors. An exception leaving the
    block writes nothing. Nested, the inner block writes with the outer one.
    """
    if _pending.get() is not None:
        yield
        return
    rows: list[AuditEvent] = []
    token = _pending.set(rows)
    try:
        yield
    finally:
        _pending.reset(token)
    if rows:
        AuditEvent.objects.bulk_create(rows)
