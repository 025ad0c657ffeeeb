"""Celery tasks of the crew app; each wraps one domain function and carries only ids."""

from __future__ import annotations

from celery import shared_task

from . import notifications, reminders, staff_notices


@shared_task(name="crew.crew_reminders_run", acks_late=True, ignore_result=True)
def crew_reminders_run_task() -> dict[str, int]:
    """Periodic (beat, every 15 minutes): response reminders, escalation, day-before reminders.

    Idempotent, so an overlapping or redelivered run sends nothing twice; no retry (the
    next beat picks up anything deferred).
    """
    return reminders.crew_reminders_run()


def _retry_later(task, outcome: str, row_id: int, model) -> None:
    """After ``retrying``: wake again when the row's next attempt is due (the sweep is the
    backstop for a lost message). Eager mode never loops inline."""
    if outcome != "retrying" or task.request.is_eager:
        return
    from django.utils import timezone

    due = model.objects.filter(pk=row_id).values_list("next_attempt_at", flat=True).first()
    countdown = max((due - timezone.now()).total_seconds(), 0) if due else None
    task.apply_async((row_id,), countdown=countdown, **notifications._task_options())


@shared_task(name="crew.notification_deliver", bind=True, acks_late=True, ignore_result=True)
def notification_deliver_task(self, note_id: int) -> str:
    """Send one crew notification through the outbox; safe under redelivery (claim first)."""
    from .models import Notification

    outcome = notifications.notification_deliver(note_id)
    _retry_later(self, outcome, note_id, Notification)
    return outcome


@shared_task(name="crew.staff_notice_deliver", bind=True, acks_late=True, ignore_result=True)
def staff_notice_deliver_task(self, notice_id: int) -> str:
    """Send one staff notice through the outbox; safe under redelivery (claim first)."""
    from .models import StaffNotice

    outcome = staff_notices.staff_notice_deliver(notice_id)
    _retry_later(self, outcome, notice_id, StaffNotice)
    return outcome


@shared_task(name="crew.outbox_sweep", acks_late=True, ignore_result=True)
def outbox_sweep_task() -> dict[str, dict[str, int]]:
    """Periodic (beat, every minute): send crew messages and staff notices that are due,
    including rows whose worker died mid-send (lease expired). Idempotent."""
    return {
        "notifications": notifications.notifications_sweep(),
        "staff_notices": staff_notices.staff_notices_sweep(),
    }
