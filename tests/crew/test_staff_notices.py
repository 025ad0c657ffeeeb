"""Staff are told: a decline, a member silent close to the charter, a message failed for good."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.utils import timezone

from crew.assignments import crew_assignment_respond
from crew.models import Notification, StaffNotice
from crew.notifications import booking_crew_notify
from crew.reminders import crew_reminders_run
from crew.staff_notices import staff_notices_sweep, staff_recipients
from crew.tasks import staff_notice_deliver_task
from tests import factories

pytestmark = pytest.mark.django_db
OPS = "ops-desk@queenofsandiego.com"


@pytest.fixture(autouse=True)
def operations_address(settings):
    settings.CHARTEROPS_OPERATIONS_EMAIL = [OPS]


def staff_mail():
    return [m for m in mail.outbox if m.to == [OPS] or "staff" in getattr(m, "tags", [])]


def test_recipients_are_the_operations_address_and_opted_in_operations_staff(staff_user):
    other = factories.UserFactory(is_staff=True, email="not-opted-in@example.com")
    other.groups.add(Group.objects.get(name="Operations"))
    staff_user.user_permissions.add(Permission.objects.get(codename="receive_staffnotice"))

    assert staff_recipients() == [OPS, staff_user.email.lower()]


def test_a_decline_tells_staff_once_even_when_the_answer_is_posted_again(
    django_capture_on_commit_callbacks,
):
    assignment = factories.CrewAssignmentFactory(member__name="Dee Decliner")

    with django_capture_on_commit_callbacks(execute=True):
        assert crew_assignment_respond(assignment, response="declined") is True
    with django_capture_on_commit_callbacks(execute=True):
        assert crew_assignment_respond(assignment, response="declined") is False  # redelivered

    (notice,) = StaffNotice.objects.all()
    assert (notice.kind, notice.status, notice.member_id) == (
        "declined",
        "sent",
        assignment.member_id,
    )
    (message,) = mail.outbox
    assert message.to == [OPS] and message.subject.startswith("Crew declined: Dee Decliner")
    # A redelivered task for the same notice sends nothing more.
    assert staff_notice_deliver_task.apply(args=(notice.pk,)).get() == "settled"
    assert len(mail.outbox) == 1


def test_a_member_still_silent_at_the_escalation_time_tells_staff_once(
    django_capture_on_commit_callbacks,
):
    now = timezone.make_aware(timezone.datetime(2026, 12, 7, 9, 0))
    with time_machine.travel(now, tick=False):
        booking = factories.BookingFactory(
            start=now + timedelta(hours=11), end=now + timedelta(hours=14)
        )
        silent = factories.CrewAssignmentFactory(booking=booking, member__name="Sam Silent")
        booking_crew_notify(booking)
        mail.outbox.clear()
        for _ in range(2):  # beat runs again; nothing new
            with django_capture_on_commit_callbacks(execute=True):
                crew_reminders_run()

    (notice,) = StaffNotice.objects.filter(kind="silent")
    assert notice.status == "sent" and notice.member_id == silent.member_id
    assert [m.subject for m in staff_mail()] == [notice.subject]
    assert "Sam Silent" in notice.subject


def test_a_notice_that_failed_transiently_is_sent_by_the_sweep(monkeypatch, settings):
    settings.CHARTEROPS_FANOUT_BACKOFF_BASE = 0
    assignment = factories.CrewAssignmentFactory()
    from django.core.mail import EmailMessage

    real_send = EmailMessage.send
    calls = {"n": 0}

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("SES timed out")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", flaky)
    crew_assignment_respond(assignment, response="declined")  # on_commit never runs here
    notice = StaffNotice.objects.get()
    StaffNotice.objects.filter(pk=notice.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )

    assert staff_notices_sweep() == {"retrying": 1}
    assert staff_notices_sweep() == {"sent": 1}
    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.error) == ("sent", 2, "")
    assert len(mail.outbox) == 1


def test_a_crew_message_failed_for_good_tells_staff_once():
    assignment = factories.CrewAssignmentFactory(member__name="Fay Flagged")
    assignment.member.email_flagged = "bounced: mailbox does not exist"
    assignment.member.phone = ""
    assignment.member.save()

    booking_crew_notify(assignment.booking)
    booking_crew_notify(assignment.booking)  # a redelivered fan-out run

    note = Notification.objects.get()
    assert note.status == "failed" and "flagged" in note.error
    (notice,) = StaffNotice.objects.all()
    assert notice.kind == "notification_failed" and "Fay Flagged" in notice.body
