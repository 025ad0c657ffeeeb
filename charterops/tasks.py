"""Project-level periodic tasks (the fan-out engine's are in ``charterops.fanout.tasks``)."""

from __future__ import annotations

from celery import shared_task

from charterops.uploads import photo_grants_sweep


@shared_task(name="charterops.photo_grants_sweep", acks_late=True, ignore_result=True)
def photo_grants_sweep_task() -> int:
    """Remove objects of upload grants that expired unconfirmed (idempotent; beat re-runs it)."""
    return photo_grants_sweep()
