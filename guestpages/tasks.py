"""Celery tasks of guest pages; each wraps one domain function."""

from __future__ import annotations

from celery import shared_task

from . import messages


@shared_task(name="guestpages.guest_reminders_send", acks_late=True, ignore_result=True)
def guest_reminders_send_task() -> int:
    """Periodic (beat, every 15 minutes): the guests' day-before reminders. Idempotent, so an
    overlapping or redelivered run sends nothing twice; no retry (the sweep sends what failed
    transiently)."""
    return messages.guest_reminders_send()


@shared_task(name="guestpages.guest_messages_sweep", acks_late=True, ignore_result=True)
def guest_messages_sweep_task() -> dict[str, int]:
    """Periodic (beat, every minute): send guest messages that are due, including rows whose
    worker died mid-send (lease expired). Idempotent."""
    return messages.guest_messages_sweep()
