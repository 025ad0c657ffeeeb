"""Reminders and escalation, with a frozen clock: once each, at the right time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from charterops.models import AuditEvent
from crew.models import CrewAssignment, Notification
from crew.notifications import booking_crew_notify
from crew.reminders import crew_reminders_run
from crew.tasks import crew_reminders_run_task
from tests import factories

pytestmark = pytest.mark.django_db
Kind = Notification.Kind


@pytest.fixture
def told(settings):
    """A charter on Saturday 10:00 Pacific with two members, told on Monday 09:00."""
    monday = timezone.make_aware(timezone.datetime(2026, 12, 7, 9, 0))
    with time_machine.travel(monday, tick=False):
        booking = factories.BookingFactory(
            start=monday.replace(day=12, hour=10), end=monday.replace(day=12, hour=14)
        )
        silent = factories.CrewAssignmentFactory(booking=booking, member__name="Sam Silent")
        keen = factories.CrewAssignmentFactory(booking=booking, member__name="Kim Keen")
        booking_crew_notify(booking)
    mail.outbox.clear()
    return booking, silent, keen, monday


def at(moment):
    return time_machine.travel(moment, tick=False)


def test_a_silent_member_is_reminded_once_a_day_after_being_told(told):
    booking, silent, keen, monday = told
    CrewAssignment.objects.filter(pk=keen.pk).update(response="accepted")

    with at(monday + timedelta(hours=23, minutes=59)):
        assert crew_reminders_run()["response_reminders"] == 0
    with at(monday + timedelta(hours=24)):
        assert crew_reminders_run()["response_reminders"] == 1
    with at(monday + timedelta(hours=30)):
        assert crew_reminders_run()["response_reminders"] == 0

    (message,) = mail.outbox
    assert message.to == [silent.member.email]
    assert message.subject.startswith("Please answer:")
    assert "Please accept or decline" in message.body and "?sesame=" in message.body
    silent.refresh_from_db()
    assert silent.reminded_at == monday + timedelta(hours=24)
    assert Notification.objects.filter(kind=Kind.RESPONSE_REMINDER).count() == 1


def test_the_reminder_delay_is_configurable(told, settings):
    booking, silent, keen, monday = told
    settings.CHARTEROPS_CREW_RESPONSE_REMINDER_HOURS = 6
    with at(monday + timedelta(hours=6)):
        assert crew_reminders_run()["response_reminders"] == 2


def test_a_member_still_silent_12_hours_before_is_escalated_once(told, client, staff_user):
    booking, silent, keen, monday = told
    CrewAssignment.objects.filter(pk=keen.pk).update(response="accepted")
    charter = booking.start

    with at(charter - timedelta(hours=12, minutes=1)):
        assert crew_reminders_run()["escalated_bookings"] == 0
    with at(charter - timedelta(hours=12)):
        assert crew_reminders_run()["escalated_bookings"] == 1
        assert crew_reminders_run()["escalated_bookings"] == 0

    silent.refresh_from_db()
    keen.refresh_from_db()
    assert silent.escalated_at == charter - timedelta(hours=12) and keen.escalated_at is None
    assert AuditEvent.objects.filter(action="crew.assignment.silent").count() == 1

    client.force_login(staff_user)
    page = client.get("/admin/bookings/booking/?crew=silent")
    assert page.status_code == 200
    assert booking.guest_name in page.content.decode()
    other = factories.BookingFactory(guest_name="Quiet Nobody")
    assert other.guest_name not in page.content.decode()


def test_accepted_crew_get_one_reminder_the_day_before(told):
    booking, silent, keen, monday = told
    CrewAssignment.objects.filter(pk=keen.pk).update(response="accepted")
    charter = booking.start

    with at(charter - timedelta(hours=24, minutes=1)):
        assert crew_reminders_run()["charter_reminders"] == 0
    mail.outbox.clear()
    with at(charter - timedelta(hours=24)):
        assert crew_reminders_run()["charter_reminders"] == 1
    with at(charter - timedelta(hours=3)):
        assert crew_reminders_run()["charter_reminders"] == 0

    reminders = [m for m in mail.outbox if m.subject.startswith("Tomorrow:")]
    assert [m.to for m in reminders] == [[keen.member.email]]
    assert "you sail tomorrow" in reminders[0].body


def test_nothing_is_sent_for_cancelled_or_past_charters(told):
    booking, silent, keen, monday = told
    booking.status = "cancelled"
    booking.save()
    with at(booking.start - timedelta(hours=2)):
        assert crew_reminders_run() == {
            "response_reminders": 0,
            "escalated_bookings": 0,
            "charter_reminders": 0,
        }
    assert mail.outbox == []


def test_the_beat_task_is_registered_and_runs(told, settings):
    booking, silent, keen, monday = told
    assert settings.CELERY_BEAT_SCHEDULE["crew-reminders"]["task"] == crew_reminders_run_task.name
    with at(monday + timedelta(hours=25)):
        assert crew_reminders_run_task.delay() is not None
    assert Notification.objects.filter(kind=Kind.RESPONSE_REMINDER).count() == 2
