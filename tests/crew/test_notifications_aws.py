"""Crew notifications through the real adapters against moto: SES v2 (anymail), SNS SMS and topic."""

from __future__ import annotations

import json
from decimal import Decimal
from email import message_from_bytes

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from crew.integrations.sms import SnsSms, SnsTopic
from crew.models import Notification
from crew.notifications import booking_crew_notify
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


@pytest.fixture
def charter():
    booking = factories.BookingFactory()
    assignment = factories.CrewAssignmentFactory(
        booking=booking, role="captain", pay=Decimal("300.00"), member__name="Cora Captain"
    )
    return booking, assignment


def test_email_goes_out_through_ses_v2_with_both_parts(ses, charter):
    booking, assignment = charter

    result = booking_crew_notify(booking)

    assert result.sent == 1
    (sent,) = ses.sent_messages
    note = Notification.objects.get()
    assert note.status == "sent"
    assert note.provider_message_id == sent.id  # SES's MessageId, which bounces refer to
    parsed = message_from_bytes(
        sent.raw_data.encode() if isinstance(sent.raw_data, str) else sent.raw_data
    )
    assert parsed["To"] == assignment.member.email
    assert parsed["Subject"].startswith("New charter:")
    types = [part.get_content_type() for part in parsed.walk()]
    assert "text/plain" in types and "text/html" in types
    assert json.loads(parsed["X-Metadata"])["notification_id"] == str(note.pk)


def test_unverified_sender_is_a_permanent_failure_shown_on_the_row(aws, settings, charter):
    settings.MAILERS = {
        "default": {"BACKEND": "anymail.backends.amazon_ses.EmailBackend", "OPTIONS": {}}
    }
    booking, _ = charter

    result = booking_crew_notify(booking)

    note = Notification.objects.get()
    assert result.failed == 1 and note.status == "failed"
    assert "MessageRejected" in note.error or "not verified" in note.error


def test_sms_members_get_a_text_through_sns_publish_to_phone(sns, charter):
    booking, assignment = charter
    member = assignment.member
    member.notify_by, member.phone = "sms", "+16195550123"
    member.save()

    booking_crew_notify(booking)

    note = Notification.objects.get()
    phone, text = sns.sms_messages[note.provider_message_id]
    assert phone == "+16195550123"
    assert text.startswith("New charter:") and f"/crew/events/{booking.pk}/?sesame=" in text


def test_topic_subscribers_get_a_json_message_without_the_token(sns, settings, charter, ses):
    topic_arn = boto3.client("sns", region_name=settings.AWS_REGION).create_topic(
        Name="scc-crew-notifications"
    )["TopicArn"]
    settings.CHARTEROPS_SNS_TOPIC_ARN = topic_arn
    booking, assignment = charter

    booking_crew_notify(booking)

    ((_, raw, subject, attributes, _),) = sns.topics[topic_arn].sent_notifications
    message = json.loads(raw)
    assert message["kind"] == "new"
    assert message["event_id"] == str(booking.pk)
    assert message["crew_id"] == str(assignment.member_id)
    assert message["charter"]["role"] == "Captain"
    assert "sesame" not in raw
    assert subject.startswith("New charter:")
    assert attributes["kind"]["Value"] == "new"


def test_sns_adapters_return_the_message_ids(sns, settings):
    client = boto3.client("sns", region_name=settings.AWS_REGION)
    topic_arn = client.create_topic(Name="scc-crew-notifications")["TopicArn"]

    sms_id = SnsSms(client).send(phone="+16195550100", text="hello")
    topic_id = SnsTopic(topic_arn, client).publish(message={"kind": "new"}, subject="s")

    assert sns.sms_messages[sms_id] == ("+16195550100", "hello")
    assert sns.topics[topic_arn].sent_notifications[0][0] == topic_id
