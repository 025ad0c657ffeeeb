"""Two workers telling the same crew at the same moment still send one message per member."""

from __future__ import annotations

import threading
import time

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection, connections

from crew.models import Notification
from crew.notifications import booking_crew_notify
from tests import factories


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_each_member_one_message(monkeypatch):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        pytest.skip("threads need a file or server database (run with DATABASE_URL=postgres://)")
    booking = factories.BookingFactory()
    members = [factories.CrewAssignmentFactory(booking=booking).member for _ in range(3)]
    real_send = EmailMultiAlternatives.send

    def slow_send(self, *args, **kwargs):
        time.sleep(0.2)  # keep both workers inside the send window at once
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", slow_send)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker():
        try:
            start.wait()
            booking_crew_notify(type(booking).objects.select_related("boat").get(pk=booking.pk))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.email for m in members)
    assert Notification.objects.filter(booking=booking, kind="new", status="sent").count() == 3


@pytest.mark.django_db
def test_a_redelivered_task_sends_nothing_new(monkeypatch):
    booking = factories.BookingFactory()
    factories.CrewAssignmentFactory(booking=booking)
    first = booking_crew_notify(booking)
    second = booking_crew_notify(booking)
    assert (first.sent, second.sent, len(mail.outbox)) == (1, 0, 1)
