"""Crew notifications: who is told what, once per member, version and kind."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from bookings.services import booking_cancel, booking_touch, booking_update
from charterops.fanout.targets import TransientError
from charterops.integrations.sms import OutboxSms
from crew.fanout import CrewTarget
from crew.models import CrewAssignment, Notification
from crew.notifications import booking_crew_notify
from tests import factories

pytestmark = pytest.mark.django_db
Kind = Notification.Kind


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    OutboxSms.sent.clear()
    yield
    OutboxSms.sent.clear()


@pytest.fixture
def charter():
    """A confirmed charter with a captain and a deckhand (both email), none told yet."""
    booking = factories.BookingFactory(meeting_point="Harbor Island West Marina, dock C")
    captain = factories.CrewAssignmentFactory(
        booking=booking, member__name="Cora Captain", role="captain", pay=Decimal("300.00")
    )
    deckhand = factories.CrewAssignmentFactory(
        booking=booking, member__name="Dee Deckhand", role="deckhand", pay=Decimal("150.00")
    )
    return booking, captain, deckhand


def tell(booking):
    booking.refresh_from_db()
    return booking_crew_notify(booking)


def mail_to(member) -> list:
    return [m for m in mail.outbox if m.to == [member.email]]


def test_every_assigned_member_is_told_of_a_new_charter_once(charter):
    booking, captain, deckhand = charter
    result = tell(booking)

    assert result.recorded == {"new": 2} and result.sent == 2
    assert len(mail.outbox) == 2
    message = mail_to(captain.member)[0]
    assert message.subject.startswith(f"New charter: {booking.boat.name}, ")
    local = booking.local_start
    assert f"{local:%a %b %-d}, 10:00–14:00" in message.subject
    assert "as Captain, pay 300.00 USD" in message.body
    assert f"/crew/events/{booking.pk}/?sesame=" in message.body
    html = message.alternatives[0].content
    assert message.alternatives[0].mimetype == "text/html"
    assert "Accept" in html and "Decline" in html and "Harbor Island West Marina" in html

    notes = Notification.objects.filter(booking=booking)
    assert {(n.member_id, n.kind, n.status, n.booking_version) for n in notes} == {
        (captain.member_id, "new", "sent", booking.version),
        (deckhand.member_id, "new", "sent", booking.version),
    }
    assert all(n.provider_message_id and n.sent_at for n in notes)
    captain.refresh_from_db()
    assert captain.notified_at is not None


def test_running_again_sends_nothing(charter):
    booking, *_ = charter
    tell(booking)
    again = tell(booking)
    assert again.recorded == {} and again.sent == 0
    assert len(mail.outbox) == 2
    assert Notification.objects.count() == 2


def test_a_time_change_tells_everyone_what_changed(charter):
    booking, captain, deckhand = charter
    tell(booking)
    mail.outbox.clear()

    booking_update(
        booking, start=booking.start + timedelta(hours=2), end=booking.end + timedelta(hours=2)
    )
    result = tell(booking)

    assert result.recorded == {"changed": 2}
    body = mail_to(deckhand.member)[0].body
    local = booking.local_start
    assert f"- Time: {local:%a %b %-d}, 10:00–14:00 -> {local:%a %b %-d}, 12:00–16:00" in body
    assert "Boat:" not in body and "Pay:" not in body
    assert mail_to(deckhand.member)[0].subject.startswith("Charter changed:")
    note = Notification.objects.get(member=deckhand.member, kind=Kind.CHANGED)
    assert set(note.changes["diff"]) == {"time"}


def test_boat_and_meeting_point_changes_are_named(charter):
    booking, captain, _ = charter
    tell(booking)
    mail.outbox.clear()
    other_boat = factories.BoatFactory(name="Bella Vista")
    old_boat = booking.boat.name

    booking_update(booking, boat=other_boat, meeting_point="Shelter Island, guest dock")
    tell(booking)

    body = mail_to(captain.member)[0].body
    assert f"- Boat: {old_boat} -> Bella Vista" in body
    assert (
        "- Meeting point: Harbor Island West Marina, dock C -> Shelter Island, guest dock" in body
    )


def test_a_pay_or_role_change_tells_only_that_member(charter):
    booking, captain, deckhand = charter
    tell(booking)
    mail.outbox.clear()

    CrewAssignment.objects.filter(pk=deckhand.pk).update(pay=Decimal("175.00"), role="first_mate")
    booking_touch(booking, reason="crew_changed")
    result = tell(booking)

    assert result.recorded == {"changed": 1}
    assert mail_to(captain.member) == []
    body = mail_to(deckhand.member)[0].body
    assert "- Role: Deckhand -> First mate" in body
    assert "- Pay: 150.00 -> 175.00" in body


def test_a_change_irrelevant_to_crew_sends_nothing(charter):
    booking, *_ = charter
    tell(booking)
    mail.outbox.clear()

    booking_update(booking, guest_phone="+16195550199", special_requests="Birthday cake")
    result = tell(booking)

    assert booking.version == 2
    assert result.recorded == {} and mail.outbox == []


def test_changes_are_measured_against_what_the_member_was_last_told(charter):
    booking, captain, _ = charter
    tell(booking)
    start, end = booking.start, booking.end
    booking_update(booking, start=start + timedelta(hours=1), end=end + timedelta(hours=1))
    booking_update(booking, start=start, end=end)  # moved back before anyone was told
    mail.outbox.clear()

    result = tell(booking)

    assert result.recorded == {} and mail.outbox == []


def test_a_removed_member_gets_a_removal_and_the_others_nothing(charter):
    booking, captain, deckhand = charter
    tell(booking)
    mail.outbox.clear()

    deckhand.delete()
    booking_touch(booking, reason="crew_changed")
    result = tell(booking)

    assert result.recorded == {"removed": 1}
    assert mail_to(captain.member) == []
    message = mail_to(deckhand.member)[0]
    assert message.subject.startswith("You are off this charter:")
    assert "no longer on the charter" in message.body
    assert "sesame=" not in message.body
    assert not Notification.objects.filter(member=deckhand.member, kind=Kind.CHANGED).exists()


def test_a_member_added_later_gets_new_and_the_others_nothing(charter):
    booking, *_ = charter
    tell(booking)
    mail.outbox.clear()
    steward = factories.CrewAssignmentFactory(booking=booking, role="steward")
    booking_touch(booking, reason="crew_changed")

    result = tell(booking)

    assert result.recorded == {"new": 1}
    assert [m.to for m in mail.outbox] == [[steward.member.email]]


def test_cancellation_tells_everyone_told_without_a_link(charter):
    booking, captain, deckhand = charter
    tell(booking)
    mail.outbox.clear()

    booking_cancel(booking, reason="Weather")
    result = tell(booking)

    assert result.recorded == {"cancelled": 2}
    for member in (captain.member, deckhand.member):
        message = mail_to(member)[0]
        assert message.subject.startswith("Charter cancelled:")
        assert "is cancelled" in message.body and "sesame=" not in message.body


def test_cancelling_a_charter_nobody_was_told_about_sends_nothing(charter):
    booking, *_ = charter
    booking_cancel(booking)
    assert tell(booking).recorded == {} and mail.outbox == []


def test_a_member_who_declined_is_not_told_of_changes(charter):
    booking, captain, deckhand = charter
    tell(booking)
    mail.outbox.clear()
    CrewAssignment.objects.filter(pk=deckhand.pk).update(response="declined")

    booking_update(booking, meeting_point="Shelter Island")
    tell(booking)

    assert mail_to(deckhand.member) == [] and len(mail_to(captain.member)) == 1


def test_sms_members_get_a_short_text_with_their_link(charter):
    booking, captain, deckhand = charter
    deckhand.member.notify_by = "sms"
    deckhand.member.phone = "+16195550123"
    deckhand.member.save()

    tell(booking)

    assert len(mail.outbox) == 1
    (text,) = OutboxSms.sent
    assert text["phone"] == "+16195550123"
    assert text["text"].startswith(f"New charter: {booking.boat.name} ")
    assert f"/crew/events/{booking.pk}/?sesame=" in text["text"]
    note = Notification.objects.get(member=deckhand.member)
    assert note.channel == "sms" and note.provider_message_id == text["message_id"]


def test_a_flagged_address_falls_back_to_sms_or_fails_visibly(charter):
    booking, captain, deckhand = charter
    captain.member.email_flagged = "bounced: mailbox does not exist"
    captain.member.save()
    deckhand.member.email_flagged = "complaint"
    deckhand.member.phone = ""
    deckhand.member.save()

    result = tell(booking)

    assert mail.outbox == []
    assert [s["phone"] for s in OutboxSms.sent] == [captain.member.phone]
    failed = Notification.objects.get(member=deckhand.member)
    assert failed.status == "failed" and "flagged" in failed.error
    assert result.sent == 1 and result.failed == 1


def test_a_transient_send_error_retries_that_row_and_the_retry_sends_once(
    charter, monkeypatch, settings
):
    settings.CHARTEROPS_FANOUT_BACKOFF_BASE = 0  # the retry is due at once
    booking, captain, deckhand = charter
    real_send = EmailMultiAlternatives.send
    calls = {"n": 0}

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("SES endpoint reset the connection")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky)
    booking.refresh_from_db()

    with pytest.raises(TransientError, match="1 crew message"):
        CrewTarget().sync(booking, state=None)
    retrying = Notification.objects.get(status="retrying")
    assert "reset the connection" in retrying.error
    assert retrying.attempts == 1 and retrying.next_attempt_at is not None
    assert len(mail.outbox) == 1

    result = CrewTarget().sync(booking, state=None)

    assert result.detail["sent"] == 1 and result.detail["recorded"] == {}
    assert Notification.objects.get(pk=retrying.pk).attempts == 2
    assert len(mail.outbox) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [captain.member.email, deckhand.member.email]
    )
    assert Notification.objects.filter(status="sent").count() == 2


def test_a_permanent_send_error_fails_the_row_not_the_target(charter, monkeypatch):
    booking, *_ = charter

    class Rejected(Exception):
        status_code = 400

    def reject(self, *args, **kwargs):
        raise Rejected("Email address is not verified")

    monkeypatch.setattr(EmailMultiAlternatives, "send", reject)
    booking.refresh_from_db()
    result = CrewTarget().sync(booking, state=None)

    assert result.detail["failed"] == 2
    assert set(Notification.objects.values_list("status", flat=True)) == {"failed"}
    assert "not verified" in Notification.objects.first().error
    # The target is done, and its row says who was not told and why.
    assert len(result.detail["failed_members"]) == 2
    assert result.warning.startswith("Not told (failed for good):")
    assert "not verified" in result.warning


def test_a_newer_version_supersedes_a_row_not_sent_yet(charter, monkeypatch):
    booking, captain, deckhand = charter
    monkeypatch.setattr(
        EmailMultiAlternatives, "send", lambda *a, **k: (_ for _ in ()).throw(TimeoutError())
    )
    tell(booking)
    assert Notification.objects.filter(status="retrying").count() == 2
    monkeypatch.undo()

    booking_update(booking, meeting_point="Shelter Island")
    result = tell(booking)

    assert result.recorded == {"new": 2} and result.sent == 2
    assert set(Notification.objects.filter(booking_version=1).values_list("status", "error")) == {
        ("superseded", "Superseded by version 2.")
    }
    assert all("Shelter Island" in m.body for m in mail.outbox)


def test_the_fanout_engine_runs_the_crew_target_on_commit(
    charter, django_capture_on_commit_callbacks
):
    booking, captain, deckhand = charter
    with django_capture_on_commit_callbacks(execute=True):
        booking_update(booking, meeting_point="Shelter Island, guest dock")

    assert Notification.objects.filter(booking=booking, kind=Kind.NEW).count() == 2
    assert all("Shelter Island, guest dock" in m.body for m in mail.outbox)
    state = booking.target_states.get(target="crew")
    assert state.status == "done" and state.detail["sent"] == 2


def test_email_links_open_the_charter_for_that_member(charter, client):
    booking, captain, _ = charter
    tell(booking)
    link = re.search(r"(/crew/events/\d+/\?sesame=\S+)", mail_to(captain.member)[0].body)[1]

    response = client.get(link, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/crew/events/{booking.pk}/"
