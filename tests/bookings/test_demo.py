"""The demo command loads a believable company, and loading it twice changes nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command

from bookings.models import Boat, Booking
from charterops.models import TargetState
from crew.models import ChecklistTemplateItem, CrewMember
from crew.voyage.models import VoyageDocument
from guestpages.models import GuestMessage

pytestmark = pytest.mark.django_db


def test_demo_is_believable_and_idempotent(monkeypatch, capsys, django_capture_on_commit_callbacks):
    monkeypatch.setenv("CHARTEROPS_DEMO_PASSWORD", "sail-away-42")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo")
    first = capsys.readouterr().out
    assert "admin / sail-away-42" in first
    counts = (
        Boat.objects.count(),
        CrewMember.objects.count(),
        Booking.objects.count(),
        ChecklistTemplateItem.objects.count(),
        TargetState.objects.count(),
    )
    assert counts[:4] == (2, 6, 12, 9)
    assert Booking.objects.filter(status="confirmed").exists()
    assert Booking.objects.filter(status="completed").exists()
    assert not TargetState.objects.exclude(status="done").exists()
    (document,) = VoyageDocument.objects.all()  # one completed charter with its record PDF
    assert document.status == "done" and document.record.booking.status == "completed"
    assert document.record.photos.count() == 2
    # every confirmed charter's guest was sent a confirmation with their page's link
    confirmed = Booking.objects.filter(status=Booking.Status.CONFIRMED)
    told = GuestMessage.objects.filter(
        kind=GuestMessage.Kind.CONFIRMATION, status=GuestMessage.Status.SENT
    )
    assert set(told.values_list("booking_id", flat=True)) >= set(
        confirmed.values_list("pk", flat=True)
    )
    sent_to = {address for message in mail.outbox for address in message.to}
    assert set(confirmed.values_list("guest_email", flat=True)) <= sent_to
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo")
    assert (
        Boat.objects.count(),
        CrewMember.objects.count(),
        Booking.objects.count(),
        ChecklistTemplateItem.objects.count(),
        TargetState.objects.count(),
    ) == counts
    assert VoyageDocument.objects.count() == 1
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("sail-away-42")


def test_demo_without_a_password_generates_and_prints_one(monkeypatch, capsys):
    monkeypatch.delenv("CHARTEROPS_DEMO_PASSWORD", raising=False)
    call_command("demo")
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Admin login")][0]
    password = line.split(" / ")[1]
    assert len(password) >= 12
    assert get_user_model().objects.get(username="admin").check_password(password)
