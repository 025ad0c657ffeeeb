"""Guest messages: confirmation, change, cancellation, reminder; once per version and kind."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from bookings.services import booking_cancel, booking_update
from charterops.fanout import engine
from charterops.fanout.targets import TransientError
from charterops.integrations.sms import OutboxSms
from charterops.models import AuditEvent, TargetState
from guestpages.messages import (
    GuestNotifyTarget,
    booking_guest_notify,
    guest_message_deliver,
    guest_message_preview,
    guest_messages_sweep,
    guest_messages_switch,
    guest_reminders_send,
)
from guestpages.models import GuestMessage, GuestPage
from guestpages.tasks import guest_reminders_send_task
from tests import factories

pytestmark = pytest.mark.django_db
Kind = GuestMessage.Kind


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    OutboxSms.sent.clear()
    yield
    OutboxSms.sent.clear()


@pytest.fixture
def booking():
    return factories.BookingFactory(guest_name="Ana Ruiz", guest_email="ana@example.com")


def tell(booking):
    booking.refresh_from_db()
    return booking_guest_notify(booking)


def kinds() -> list[tuple[str, int, str]]:
    return list(
        GuestMessage.objects.order_by("id").values_list("kind", "booking_version", "status")
    )


def test_a_confirmed_booking_sends_one_confirmation_with_the_absolute_page_link(booking, settings):
    result = tell(booking)
    assert result.recorded == {"confirmation": 1} and result.sent == 1
    (message,) = mail.outbox
    page = GuestPage.objects.get(booking=booking)
    assert message.to == ["ana@example.com"]
    assert message.subject.startswith("You're booked: ")
    assert f"{settings.SITE_URL}/g/{page.page_id}" in message.body
    html = message.alternatives[0][0]
    assert f'href="{settings.SITE_URL}/g/{page.page_id}"' in html
    # 10:00 in the boats' time zone, not UTC
    assert "10:00 AM – 2:00 PM (Pacific time)" in message.body
    assert message.extra_headers["Message-ID"].startswith("<")

    again = tell(booking)
    assert again.recorded == {} and again.sent == 0
    assert len(mail.outbox) == 1


def test_a_change_and_a_cancel_redelivered_send_once_each(booking):
    tell(booking)
    booking_update(
        booking, start=booking.start + timedelta(hours=2), end=booking.end + timedelta(hours=2)
    )
    for _ in range(3):  # the task redelivered: the same version, run again
        tell(booking)
        GuestNotifyTarget().sync(booking)
    booking_cancel(booking, reason="weather")
    for _ in range(3):
        tell(booking)
        GuestNotifyTarget().sync(booking)

    assert kinds() == [
        ("confirmation", 1, "sent"),
        ("changed", 2, "sent"),
        ("cancelled", 3, "sent"),
    ]
    subjects = [m.subject.split(":")[0] for m in mail.outbox]
    assert subjects == ["You're booked", "Your charter has changed", "Your charter is cancelled"]
    change = mail.outbox[1].body
    assert "Time: " in change and "12:00 PM – 4:00 PM" in change and "(was: " in change
    assert "Meeting point" not in change
    assert "/g/" not in mail.outbox[2].body  # a cancelled charter's page is withdrawn


def test_what_changed_lists_meeting_point_and_boat(booking):
    tell(booking)
    other = factories.BoatFactory(name="Sea Breeze")
    booking_update(booking, meeting_point="Shelter Island, dock A", boat=other)
    tell(booking)
    body = mail.outbox[-1].body
    assert "Meeting point: Shelter Island, dock A (was: Harbor Island West Marina, dock C)" in body
    assert "Boat: Sea Breeze" in body and "Time:" not in body


def test_a_change_the_guest_does_not_see_sends_nothing(booking):
    tell(booking)
    booking_update(booking, special_requests="Cake", party_size=5)
    assert tell(booking).recorded == {}
    assert len(mail.outbox) == 1


def test_a_queued_message_of_an_older_version_is_superseded_not_sent(booking):
    from guestpages.messages import booking_guest_plan

    booking_guest_plan(booking)  # recorded, not sent (say the worker died)
    booking_update(
        booking, start=booking.start + timedelta(days=1), end=booking.end + timedelta(days=1)
    )
    tell(booking)
    # never told at all: the confirmation of v2 carries the new time; v1's is superseded
    assert kinds() == [("confirmation", 1, "superseded"), ("confirmation", 2, "sent")]
    assert len(mail.outbox) == 1


def test_text_when_there_is_no_email_or_the_guest_prefers_it(booking):
    booking.guest_email = ""
    booking.save()
    tell(booking)
    (text,) = OutboxSms.sent
    assert text["phone"] == "+16195550100" and "Booked: " in text["text"]
    assert "/g/" in text["text"] and mail.outbox == []

    other = factories.BookingFactory(guest_phone="+16195550199")
    guest_messages_switch(other, enabled=True, prefer_sms=True)
    tell(other)
    assert [s["phone"] for s in OutboxSms.sent] == ["+16195550100", "+16195550199"]


def test_no_address_no_message_and_the_target_says_so(booking):
    booking.guest_email, booking.guest_phone = "", ""
    booking.save()
    result = GuestNotifyTarget().sync(booking)
    assert "no email address or mobile number" in result.warning
    assert not GuestMessage.objects.exists()


def test_staff_switch_messages_off_per_booking(booking, staff_user):
    from guestpages.messages import booking_guest_plan

    booking_guest_plan(booking)  # queued, not sent yet
    guest_messages_switch(booking, enabled=False, actor=staff_user)
    result = GuestNotifyTarget().sync(booking)
    assert result.skipped
    assert kinds() == [("confirmation", 1, "superseded")] and mail.outbox == []
    event = AuditEvent.objects.get(action="guestpages.guest_messages.off")
    assert event.actor == staff_user and event.booking == booking

    guest_messages_switch(booking, enabled=False, actor=staff_user)  # unchanged: no new row
    assert AuditEvent.objects.filter(action__startswith="guestpages.guest_messages").count() == 1
    guest_messages_switch(booking, enabled=True, actor=staff_user)
    tell(booking)
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["You're booked"]


def test_a_past_charter_is_not_news(booking):
    booking.start = timezone.now() - timedelta(days=3)
    booking.end = booking.start + timedelta(hours=4)
    booking.status = "completed"
    booking.save()
    assert tell(booking).recorded == {}


def test_a_transient_failure_retries_and_the_target_is_not_done(booking, monkeypatch):
    from django.core.mail import EmailMultiAlternatives

    calls = {"n": 0}
    real_send = EmailMultiAlternatives.send

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("SES timed out")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky)
    with pytest.raises(TransientError, match="1 guest message"):
        GuestNotifyTarget().sync(booking)
    message = GuestMessage.objects.get()
    assert message.status == "retrying" and message.next_attempt_at is not None
    with time_machine.travel(message.next_attempt_at - timedelta(seconds=1), tick=False):
        assert guest_message_deliver(message.pk) == "waiting"  # not due yet: never "success"

    with time_machine.travel(message.next_attempt_at + timedelta(seconds=61), tick=False):
        assert guest_messages_sweep() == {"sent": 1}
        assert guest_messages_sweep() == {}
    assert len(mail.outbox) == 1
    assert GuestNotifyTarget().sync(booking).warning == ""


def test_the_fanout_engine_runs_the_target_on_commit(booking, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        booking_update(booking, meeting_point="Shelter Island, dock A")
    state = TargetState.objects.get(booking=booking, target="guest_notify")
    assert state.status == "done" and state.synced_version == booking.version
    assert kinds() == [("confirmation", 2, "sent")]
    engine.target_state_run(state.pk, force=True)
    assert len(GuestMessage.objects.all()) == 1


def test_preview_is_what_the_guest_got(booking):
    tell(booking)
    preview = guest_message_preview(GuestMessage.objects.get())
    assert preview.startswith("You're booked: ") and "Your charter is confirmed." in preview


# --- The day-before reminder, with a frozen clock ----------------------------------------


@pytest.fixture
def saturday_charter(settings):
    """A charter on Saturday 10:00 Pacific, confirmed on Monday 09:00."""
    monday = timezone.make_aware(timezone.datetime(2026, 12, 7, 9, 0))
    with time_machine.travel(monday, tick=False):
        booking = factories.BookingFactory(
            guest_email="ana@example.com",
            start=monday.replace(day=12, hour=10),
            end=monday.replace(day=12, hour=14),
        )
        factories.CrewAssignmentFactory(
            booking=booking, role="captain", member__name="Cora Captain"
        )
        tell(booking)
    mail.outbox.clear()
    return booking, monday


def test_the_reminder_goes_once_the_day_before(saturday_charter):
    booking, monday = saturday_charter
    friday_morning = monday.replace(day=11, hour=9)
    with time_machine.travel(friday_morning, tick=False):
        assert guest_reminders_send() == 0  # 25 hours ahead: not yet
    with time_machine.travel(friday_morning + timedelta(hours=1, minutes=5), tick=False):
        assert guest_reminders_send_task.delay().get() == 1
        assert guest_reminders_send() == 0
    with time_machine.travel(friday_morning + timedelta(hours=5), tick=False):
        assert guest_reminders_send() == 0

    (message,) = mail.outbox
    assert message.subject.startswith("See you tomorrow")
    assert "Please arrive by 9:45 AM." in message.body
    assert "Your captain: Cora Captain" in message.body
    assert "Harbor Island West Marina, dock C" in message.body
    assert "Soft-soled, closed-toe shoes" in message.body
    assert GuestMessage.objects.filter(kind=Kind.REMINDER).count() == 1


def test_no_reminder_when_cancelled_or_switched_off(saturday_charter):
    booking, monday = saturday_charter
    other = factories.BookingFactory(start=booking.start, end=booking.end)
    with time_machine.travel(monday, tick=False):
        booking_cancel(booking)
        guest_messages_switch(other, enabled=False)
    with time_machine.travel(monday.replace(day=11, hour=12), tick=False):
        assert guest_reminders_send() == 0
    assert not GuestMessage.objects.filter(kind=Kind.REMINDER).exists()


# --- Staff: the booking page lists every guest message; the switch ----------------------


def test_the_booking_page_lists_every_guest_message_in_a_fixed_number_of_queries(
    client, staff_user, django_assert_max_num_queries
):
    from django.urls import reverse

    from guestpages.publishing import guest_page_publish

    def page_queries(booking) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    client.force_login(staff_user)
    one = factories.BookingFactory(guest_email="ana@example.com")
    guest_page_publish(one)
    tell(one)
    few, html = page_queries(one)
    assert "Guest messages" in html and "Confirmation" in html and "ana@example.com" in html
    message = GuestMessage.objects.get(booking=one)
    assert reverse("admin:guestpages_guestmessage_change", args=[message.pk]) in html
    assert reverse("admin:guestpages_guestmessage_switch", args=[one.pk]) in html

    many = factories.BookingFactory(guest_email="bo@example.com")
    guest_page_publish(many)
    tell(many)
    for hours in (1, 2, 3):
        booking_update(many, meeting_point=f"Dock {hours}")
        tell(many)
    assert GuestMessage.objects.filter(booking=many).count() == 4
    more, html = page_queries(many)
    assert html.count("Change notice to the guest (v") == 3
    assert more <= few  # the list costs the same whatever its length
    print(f"booking page: {few} queries with 1 guest message, {more} with 4")
    with django_assert_max_num_queries(few):
        client.get(reverse("admin:bookings_booking_change", args=[many.pk]))

    read = client.get(reverse("admin:guestpages_guestmessage_change", args=[message.pk]))
    assert read.status_code == 200 and "Your charter is confirmed." in read.content.decode()


def test_staff_switch_guest_messages_off_from_the_booking_page(client, staff_user, booking):
    from django.urls import reverse

    client.force_login(staff_user)
    url = reverse("admin:guestpages_guestmessage_switch", args=[booking.pk])
    asked = client.get(url)
    assert asked.status_code == 200 and 'name="enabled"' in asked.content.decode()
    response = client.post(url, {})  # the box unticked
    assert response.status_code == 302
    assert tell(booking).recorded == {} and mail.outbox == []
    assert AuditEvent.objects.get(action="guestpages.guest_messages.off").actor == staff_user

    client.post(url, {"enabled": "on"})
    assert tell(booking).recorded == {"confirmation": 1}


def test_the_switch_needs_the_change_permission(client, booking):
    from django.urls import reverse

    viewer = factories.UserFactory(is_staff=True)
    client.force_login(viewer)
    url = reverse("admin:guestpages_guestmessage_switch", args=[booking.pk])
    assert client.post(url, {}).status_code == 403


def test_the_demo_s_confirmed_bookings_each_have_a_confirmation_in_the_outbox(
    monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    from bookings.models import Booking

    monkeypatch.setenv("CHARTEROPS_DEMO_PASSWORD", "sail-away-42")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo")
    confirmed = Booking.objects.filter(status="confirmed")
    assert confirmed.count() >= 5
    for booking in confirmed:
        message = GuestMessage.objects.get(booking=booking, kind=Kind.CONFIRMATION)
        assert message.status == "sent"
        assert any(m.to == [booking.guest_email] and "/g/" in m.body for m in mail.outbox)
    states = TargetState.objects.filter(target="guest_notify")
    assert states.exists() and not states.exclude(status="done").exists()


def test_a_bounce_from_the_tracking_webhook_marks_the_guest_message(booking):
    from anymail.signals import AnymailTrackingEvent, tracking

    tell(booking)
    message = GuestMessage.objects.get()
    event = AnymailTrackingEvent(
        event_type="bounced",
        message_id="ses-unknown-id",
        recipient="ana@example.com",
        description="Permanent: General",
        metadata={"guest_message_id": str(message.pk)},
    )
    for _ in range(2):  # redelivered
        tracking.send(sender=object, event=event, esp_name="Amazon SES")
    message.refresh_from_db()
    assert message.status == "bounced" and "Permanent" in message.error
    assert AuditEvent.objects.filter(action="guestpages.guest_message.bounced").count() == 1


def test_a_charter_moved_after_its_reminder_is_reminded_again_for_the_new_time(saturday_charter):
    booking, monday = saturday_charter
    friday = monday.replace(day=11, hour=12)
    with time_machine.travel(friday, tick=False):
        assert guest_reminders_send() == 1
        booking_update(
            booking, start=booking.start - timedelta(hours=1), end=booking.end - timedelta(hours=1)
        )
        booking.refresh_from_db()
        booking_guest_notify(booking)  # the change notice
        assert guest_reminders_send() == 1  # the new time, once
        assert guest_reminders_send() == 0
    subjects = [m.subject.split(":")[0] for m in mail.outbox]
    assert subjects == ["See you tomorrow", "Your charter has changed", "See you tomorrow"]
    assert "Please arrive by 8:45 AM." in mail.outbox[-1].body


# --- Marketplaces that message their guests themselves -----------------------------------


@pytest.fixture
def boatsetter_relays():
    from bookings.marketplace.models import MarketplaceRules

    rules, _ = MarketplaceRules.objects.get_or_create(source="boatsetter")
    rules.relays_guest_messages = True
    rules.save()
    return rules


def test_a_booking_from_a_relaying_marketplace_gets_no_guest_message(boatsetter_relays, booking):
    result = tell(booking)
    assert result.recorded == {} and mail.outbox == []
    assert not GuestMessage.objects.exists()
    assert GuestNotifyTarget().sync(booking).skipped
    direct = factories.BookingFactory(source="direct", external_id="", guest_email="d@example.com")
    assert tell(direct).recorded == {"confirmation": 1}  # other sources keep their default


def test_switching_one_relayed_booking_on_sends_the_confirmation_once(
    boatsetter_relays, booking, staff_user, django_capture_on_commit_callbacks
):
    tell(booking)
    with django_capture_on_commit_callbacks(execute=True):
        guest_messages_switch(booking, enabled=True, actor=staff_user)
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["You're booked"]
    tell(booking)
    guest_message_deliver(GuestMessage.objects.get().pk)
    assert len(mail.outbox) == 1 and GuestMessage.objects.count() == 1
    # The row is the override: the source's rule changing later leaves it on.
    boatsetter_relays.relays_guest_messages = False
    boatsetter_relays.save()
    boatsetter_relays.relays_guest_messages = True
    boatsetter_relays.save()
    booking_update(booking, meeting_point="Dock 9")
    assert tell(booking).recorded == {"changed": 1}


def test_no_reminder_for_a_relayed_booking_unless_switched_on(boatsetter_relays, settings):
    monday = timezone.make_aware(timezone.datetime(2026, 12, 7, 9, 0))
    with time_machine.travel(monday, tick=False):
        relayed = factories.BookingFactory(
            guest_email="ana@example.com",
            start=monday.replace(day=12, hour=10),
            end=monday.replace(day=12, hour=14),
        )
        switched = factories.BookingFactory(
            guest_email="bo@example.com", start=relayed.start, end=relayed.end
        )
        guest_messages_switch(switched, enabled=True)
    with time_machine.travel(monday.replace(day=11, hour=12), tick=False):
        assert guest_reminders_send() == 1
    assert list(
        GuestMessage.objects.filter(kind=Kind.REMINDER).values_list("booking", flat=True)
    ) == [switched.pk]


def test_the_booking_page_says_why_messages_are_off(client, staff_user, boatsetter_relays, booking):
    from django.urls import reverse

    from guestpages.publishing import guest_page_publish

    client.force_login(staff_user)
    guest_page_publish(booking)
    page = reverse("admin:bookings_booking_change", args=[booking.pk])
    html = client.get(page).content.decode()
    assert "Off: Boatsetter messages its guests itself." in html
    switch = reverse("admin:guestpages_guestmessage_switch", args=[booking.pk])
    assert "Boatsetter messages its guests itself." in client.get(switch).content.decode()

    client.post(switch, {"enabled": "on"})
    assert "Off:" not in client.get(page).content.decode()
    client.post(switch, {})
    html = client.get(page).content.decode()
    assert f"Off: Switched off by {staff_user.get_username()} on " in html
    assert "messages its guests itself" not in html


def test_the_rules_admin_edits_the_relay_default(admin_client, boatsetter_relays):
    from django.urls import reverse

    url = reverse("admin:bookings_marketplacerules_change", args=[boatsetter_relays.pk])
    assert 'name="relays_guest_messages"' in admin_client.get(url).content.decode()
