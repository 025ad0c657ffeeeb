"""Reminding crew: a nudge to answer, an escalation to staff, and the day-before reminder.

Run every few minutes by beat (``crew.crew_reminders_run``); each step is idempotent, so a
run that overlaps another or repeats after a crash sends nothing twice:

- **response reminder**: a member still ``invited`` ``CHARTEROPS_CREW_RESPONSE_REMINDER_HOURS``
  (24) after being told is reminded once (``reminded_at``);
- **escalation**: a member still silent ``CHARTEROPS_CREW_ESCALATION_HOURS`` (12) before the
  charter gets ``escalated_at``, an audit row and one staff notice per staff recipient
  (``crew/staff_notices.py``); the booking shows in the admin's "crew silent" filter;
- **charter reminder**: every accepted member gets one reminder
  ``CHARTEROPS_CREW_REMINDER_HOURS`` (24) before the charter.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from bookings.models import Booking
from charterops.audit import audit_log

from .models import CrewAssignment, Notification
from .notifications import crew_assignment_notify
from .staff_notices import staff_notice_silent

log = logging.getLogger(__name__)
Response = CrewAssignment.Response


def _upcoming(now: datetime) -> QuerySet[CrewAssignment]:
    return CrewAssignment.objects.filter(
        booking__status__in=Booking.LIVE_STATUSES, booking__start__gt=now
    ).select_related("booking__boat", "member__user")


def _send(assignment: CrewAssignment, kind: str) -> bool:
    # A transient error leaves the row retrying: the outbox sweep sends it when due.
    return crew_assignment_notify(assignment, kind=kind) is not None


def crew_response_reminders_send(*, now: datetime | None = None) -> int:
    """Remind each member who was told but has not answered, once. Returns reminders recorded."""
    now = now or timezone.now()
    told_before = now - timedelta(hours=settings.CHARTEROPS_CREW_RESPONSE_REMINDER_HOURS)
    due = _upcoming(now).filter(
        response=Response.INVITED, notified_at__lte=told_before, reminded_at__isnull=True
    )
    return sum(_send(a, Notification.Kind.RESPONSE_REMINDER) for a in due)


def crew_silence_escalate(*, now: datetime | None = None) -> list[int]:
    """Flag members still silent close to the charter; returns the bookings newly flagged.

    Idempotent: an assignment is escalated once (``escalated_at``), with one audit row and
    one staff notice per recipient (sent after commit).
    """
    now = now or timezone.now()
    horizon = now + timedelta(hours=settings.CHARTEROPS_CREW_ESCALATION_HOURS)
    flagged: set[int] = set()
    due = _upcoming(now).filter(
        response=Response.INVITED, escalated_at__isnull=True, booking__start__lte=horizon
    )
    for assignment in due:
        with transaction.atomic():
            if not CrewAssignment.objects.filter(
                pk=assignment.pk, escalated_at__isnull=True
            ).update(escalated_at=now):
                continue  # another run got there first
            audit_log(
                "crew.assignment.silent",
                assignment,
                booking=assignment.booking,
                data={
                    "member": assignment.member.name,
                    "starts": assignment.booking.start.isoformat(),
                },
            )
            staff_notice_silent(assignment)
        flagged.add(assignment.booking_id)
    return sorted(flagged)


def crew_charter_reminders_send(*, now: datetime | None = None) -> int:
    """Remind every accepted member once, the day before. Returns reminders recorded."""
    now = now or timezone.now()
    horizon = now + timedelta(hours=settings.CHARTEROPS_CREW_REMINDER_HOURS)
    reminded = Notification.objects.filter(kind=Notification.Kind.REMINDER).values_list(
        "booking_id", "member_id"
    )
    due = _upcoming(now).filter(response=Response.ACCEPTED, booking__start__lte=horizon)
    done = set(reminded.filter(booking__in=due.values("booking")))
    return sum(
        _send(a, Notification.Kind.REMINDER) for a in due if (a.booking_id, a.member_id) not in done
    )


def crew_reminders_run(*, now: datetime | None = None) -> dict[str, int]:
    """All three steps, in order; what the beat task runs."""
    now = now or timezone.now()
    return {
        "response_reminders": crew_response_reminders_send(now=now),
        "escalated_bookings": len(crew_silence_escalate(now=now)),
        "charter_reminders": crew_charter_reminders_send(now=now),
    }
