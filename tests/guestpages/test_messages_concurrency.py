"""Concurrent deliveries of guest messages: one message each, never "done" early."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection, connections

from bookings.services import booking_update
from charterops.fanout.targets import TransientError
from guestpages.messages import GuestNotifyTarget, booking_guest_notify, guest_reminders_send
from guestpages.models import GuestMessage
from tests import factories


def _threads_possible() -> None:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        pytest.skip("threads need a file or server database (run with DATABASE_URL=postgres://)")


def _together(n: int, work) -> list[BaseException]:
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            work()
        except TransientError:
            pass  # "another worker holds it": work still to do, never success
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_of_the_target_send_the_guest_one_message_per_version(monkeypatch):
    _threads_possible()
    booking = factories.BookingFactory(guest_email="ana@example.com")
    real_send = EmailMultiAlternatives.send

    def slow_send(self, *args, **kwargs):
        time.sleep(0.2)  # keep every worker inside the send window at once
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", slow_send)

    def run() -> None:
        GuestNotifyTarget().sync(type(booking).objects.select_related("boat").get(pk=booking.pk))

    assert _together(3, run) == []
    booking_update(booking, start=booking.start + timedelta(hours=1), end=booking.end)
    assert _together(3, run) == []
    assert list(GuestMessage.objects.order_by("id").values_list("kind", "status")) == [
        ("confirmation", "sent"),
        ("changed", "sent"),
    ]
    assert len(mail.outbox) == 2
    booking.refresh_from_db()
    assert booking_guest_notify(booking).pending == 0


@pytest.mark.django_db(transaction=True)
def test_overlapping_reminder_runs_remind_once(monkeypatch):
    _threads_possible()
    from django.utils import timezone

    booking = factories.BookingFactory(
        start=timezone.now() + timedelta(hours=20), end=timezone.now() + timedelta(hours=24)
    )
    booking_guest_notify(booking)
    mail.outbox.clear()
    assert _together(3, guest_reminders_send) == []
    assert GuestMessage.objects.filter(kind="reminder").count() == 1
    assert len(mail.outbox) == 1
