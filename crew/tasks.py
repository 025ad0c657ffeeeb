"""Celery tasks of the crew app; each wraps one domain function and carries only ids."""

from __future__ import annotations

from celery import shared_task

from . import reminders


@shared_task(name="crew.crew_reminders_run", acks_late=True, ignore_result=True)
def crew_reminders_run_task() -> dict[str, int]:
    """Periodic (beat, every 15 minutes): response reminders, escalation, day-before reminders.

    Idempotent, so an overlapping or redelivered run sends nothing twice; no retry (the
    next beat picks up anything deferred).
    """
    return reminders.crew_reminders_run()
