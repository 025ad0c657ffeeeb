"""Guest messages through the real adapters against moto: SES v2 (anymail) and SNS SMS."""

from __future__ import annotations

import json
from datetime import timedelta
from email import message_from_bytes

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from bookings.services import booking_update
from guestpages.messages import GuestNotifyTarget, booking_guest_notify
from guestpages.models import GuestMessage
from tests import factories

pytestmark = pytest.mark.django_db
SENDER = "ops@queenofsandiego.com"


@pytest.fixture
def ses(aws, settings):
    """anymail's Amazon SES (v2) backend against moto, with the sender identity verified."""
    settings.MAILERS = {
        "default": {"BACKEND": "anymail.backends.amazon_ses.EmailBackend", "OPTIONS": {}}
    }
    settings.DEFAULT_FROM_EMAIL = f"CharterOps <{SENDER}>"
    boto3.client("sesv2", region_name=settings.AWS_REGION).create_email_identity(
        EmailIdentity=SENDER
    )
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID][settings.AWS_REGION]


@pytest.fixture
def sns(aws, settings):
    from moto.sns.models import sns_backends

    settings.CHARTEROPS_SMS_BACKEND = "sns"
    return sns_backends[DEFAULT_ACCOUNT_ID][settings.AWS_REGION]


def test_confirmation_and_change_go_out_through_ses_once_each(ses):
    booking = factories.BookingFactory(guest_email="ana@example.com")
    booking_guest_notify(booking)
    booking_update(booking, start=booking.start + timedelta(hours=1), end=booking.end)
    for _ in range(2):  # redelivered
        booking.refresh_from_db()
        GuestNotifyTarget().sync(booking)

    assert len(ses.sent_messages) == 2
    rows = list(GuestMessage.objects.order_by("id"))
    assert [r.provider_message_id for r in rows] == [m.id for m in ses.sent_messages]
    parsed = message_from_bytes(
        ses.sent_messages[1].raw_data.encode()
        if isinstance(ses.sent_messages[1].raw_data, str)
        else ses.sent_messages[1].raw_data
    )
    assert parsed["To"] == "ana@example.com"
    assert parsed["Subject"].startswith("Your charter has changed:")
    types = [part.get_content_type() for part in parsed.walk()]
    assert "text/plain" in types and "text/html" in types
    assert json.loads(parsed["X-Metadata"])["guest_message_id"] == str(rows[1].pk)


def test_unverified_sender_fails_the_message_and_warns_on_the_target(aws, settings):
    settings.MAILERS = {
        "default": {"BACKEND": "anymail.backends.amazon_ses.EmailBackend", "OPTIONS": {}}
    }
    booking = factories.BookingFactory()
    result = GuestNotifyTarget().sync(booking)
    message = GuestMessage.objects.get()
    assert message.status == "failed"
    assert "Guest not told (failed for good)" in result.warning


def test_a_guest_without_email_gets_a_text_through_sns(sns):
    booking = factories.BookingFactory(guest_email="", guest_phone="+16195550123")
    booking_guest_notify(booking)
    booking_guest_notify(booking)

    message = GuestMessage.objects.get()
    assert message.channel == "sms" and message.status == "sent"
    phone, text = sns.sms_messages[message.provider_message_id]
    assert phone == "+16195550123"
    assert text.startswith("Booked: ") and "/g/" in text
    assert len(sns.sms_messages) == 1
