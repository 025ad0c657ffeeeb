"""Concurrent deliveries: one message per member, never lost to a lock, never "done" early."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection, connections, transaction
from django.utils import timezone

from bookings.models import Boat
from charterops.fanout import engine
from charterops.fanout.targets import TransientError
from charterops.models import TargetState
from crew.fanout import CrewTarget
from crew.models import Notification
from crew.notifications import (
    booking_crew_notify,
    booking_crew_plan,
    notification_deliver,
    notifications_sweep,
)
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


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _crew_state(booking) -> TargetState:
    return TargetState.objects.create(
        booking=booking, target="crew", desired_version=booking.version, status="pending"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("held", ["boat", "member's user"])
def test_a_lock_held_on_a_joined_row_does_not_lose_the_message(held):
    """Another transaction holding the booking's boat (or a member's user) row while the crew
    target runs: every member is still told, and the target is done only after that."""
    if not _on_postgresql():
        pytest.skip("row locks need PostgreSQL: runs on the PostgreSQL pass")
    booking = factories.BookingFactory()
    assignments = [factories.CrewAssignmentFactory(booking=booking) for _ in range(3)]
    state = _crew_state(booking)
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                if held == "boat":
                    Boat.objects.select_for_update().get(pk=booking.boat_id)
                else:
                    User.objects.select_for_update().get(pk=assignments[0].member.user_id)
                locked.set()
                release.wait(60)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(30)
        outcome = engine.target_state_run(state.pk)
        sent = Notification.objects.filter(booking=booking, status="sent").count()
    finally:
        release.set()
        holder.join(60)

    assert (outcome.result, sent) == ("done", 3)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(a.member.email for a in assignments)


@pytest.mark.django_db(transaction=True)
def test_a_message_held_by_another_delivery_keeps_the_target_from_done(monkeypatch):
    """Two deliveries for the same member at once: the one that could not claim the row does
    not report success; the target is done once the message is really sent, sent once."""
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        pytest.skip("threads need a file or server database (run with DATABASE_URL=postgres://)")
    booking = factories.BookingFactory()
    member = factories.CrewAssignmentFactory(booking=booking).member
    booking_crew_plan(booking)
    (note,) = Notification.objects.filter(booking=booking)
    in_send, release = threading.Event(), threading.Event()
    real_send = EmailMultiAlternatives.send

    def gated_send(self, *args, **kwargs):
        in_send.set()
        release.wait(60)
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", gated_send)
    outcomes: list[str] = []

    def first_delivery():
        try:
            outcomes.append(notification_deliver(note.pk))
        finally:
            connections.close_all()

    first = threading.Thread(target=first_delivery)
    first.start()
    try:
        assert in_send.wait(30)
        with pytest.raises(TransientError, match="being sent"):
            CrewTarget().sync(booking, state=None)
        assert Notification.objects.get(pk=note.pk).status == "sending"
    finally:
        release.set()
        first.join(60)

    assert outcomes == ["sent"]
    result = CrewTarget().sync(booking, state=None)
    assert result.detail["pending"] == 0 and result.warning == ""
    assert [m.to[0] for m in mail.outbox] == [member.email]


@pytest.mark.django_db
def test_a_row_whose_worker_died_mid_send_is_sent_again_once_its_lease_expires(settings):
    """The crash window: claimed, maybe sent, never recorded. Redelivered after the lease."""
    booking = factories.BookingFactory()
    factories.CrewAssignmentFactory(booking=booking)
    booking_crew_plan(booking)
    note = Notification.objects.get()
    Notification.objects.filter(pk=note.pk).update(
        status="sending", leased_at=timezone.now(), lease_token="dead-worker", attempts=1
    )

    assert notification_deliver(note.pk) == "busy"  # the lease is still live
    Notification.objects.filter(pk=note.pk).update(
        leased_at=timezone.now() - timedelta(seconds=settings.CHARTEROPS_OUTBOX_LEASE_SECONDS + 1)
    )
    assert notifications_sweep() == {"sent": 1}
    note.refresh_from_db()
    assert (note.status, note.attempts, note.lease_token) == ("sent", 2, "")
    assert len(mail.outbox) == 1
