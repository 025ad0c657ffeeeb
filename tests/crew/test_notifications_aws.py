"""Crew notifications through the real adapters against moto: SES v2 (anymail), SNS SMS and topic."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from email import message_from_bytes

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from bookings.services import booking_update
from charterops.fanout import engine
from charterops.fanout.targets import SyncResult, TransientError
from charterops.integrations.sms import SnsSms, SnsTopic
from charterops.models import TargetState
from crew.fanout import CrewTarget
from crew.models import Notification, StaffNotice
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


@pytest.fixture
def flaky_aws(monkeypatch):
    """Every SES SendEmail / SNS Publish fails with the provider's throttling error about 30 %
    of the time (seeded), before it reaches moto; ``rejected`` addresses are refused for good."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    real_call = BaseClient._make_api_call
    rng = random.Random(20261201)
    faults = {"injected": 0, "calls": 0, "rejected": set()}

    def call(self, operation_name, params):
        if operation_name in ("SendEmail", "Publish"):
            faults["calls"] += 1
            to = params.get("Destination", {}).get("ToAddresses", [])
            if any(address in faults["rejected"] for address in to):
                raise ClientError(
                    {
                        "Error": {"Code": "MessageRejected", "Message": "Address blacklisted."},
                        "ResponseMetadata": {"HTTPStatusCode": 400},
                    },
                    operation_name,
                )
            if rng.random() < 0.3:
                faults["injected"] += 1
                code = "TooManyRequestsException" if operation_name == "SendEmail" else "Throttling"
                raise ClientError(
                    {
                        "Error": {"Code": code, "Message": "Rate exceeded"},
                        "ResponseMetadata": {"HTTPStatusCode": 429},
                    },
                    operation_name,
                )
        return real_call(self, operation_name, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    return faults


def _sync_until_done(booking, *, rounds: int = 60) -> SyncResult:
    """What the engine does on each retry, without waiting out the backoff (base 0 in tests)."""
    booking.refresh_from_db()
    for _ in range(rounds):
        try:
            return CrewTarget().sync(booking, state=None)
        except TransientError:
            continue
    raise AssertionError(f"crew target did not converge: {list(Notification.objects.values())}")


def test_ses_and_sns_failing_transiently_30_percent_converge_with_no_duplicates(
    ses, sns, flaky_aws, settings
):
    settings.CHARTEROPS_FANOUT_BACKOFF_BASE = 0
    booking = factories.BookingFactory()
    crew = [
        factories.CrewAssignmentFactory(
            booking=booking,
            member__notify_by="sms" if n % 2 else "email",
            member__phone=f"+1619555{n:04d}",
        )
        for n in range(6)
    ]

    versions = []
    for hour in (None, 9, 11, 13):  # told, then rescheduled three times
        if hour is not None:
            start = booking.start.replace(hour=hour)
            booking_update(booking, start=start, end=start + timedelta(hours=3))
        result = _sync_until_done(booking)
        assert result.warning == ""
        versions.append(booking.version)

    assert flaky_aws["injected"] >= 5  # the faults really happened
    notes = Notification.objects.filter(booking=booking)
    assert set(notes.values_list("status", flat=True)) <= {"sent", "superseded"}
    emails = Counter(
        (m.destinations if isinstance(m.destinations, list) else m.destinations["ToAddresses"])[0]
        for m in ses.sent_messages
    )
    texts = Counter(phone for phone, _ in sns.sms_messages.values())
    for assignment in crew:
        member = assignment.member
        sent = notes.filter(member=member, status="sent")
        # every member holds exactly one message of the latest version...
        assert sent.filter(booking_version=booking.version).count() == 1
        # ...and the provider got exactly the messages recorded as sent: no duplicate.
        provider = texts[member.phone] if member.notify_by == "sms" else emails[member.email]
        assert provider == sent.count()
    assert sum(n.attempts for n in notes) > notes.filter(status="sent").count()


def test_a_permanent_rejection_fails_only_that_member_and_shows_on_the_target_row(
    ses, flaky_aws, settings, django_capture_on_commit_callbacks
):
    settings.CHARTEROPS_FANOUT_BACKOFF_BASE = 0
    settings.CHARTEROPS_OPERATIONS_EMAIL = [SENDER]
    booking = factories.BookingFactory()
    good = factories.CrewAssignmentFactory(booking=booking, member__name="Gail Good")
    bad = factories.CrewAssignmentFactory(
        booking=booking, member__name="Bob Bounce", member__email="bob@example.net"
    )
    flaky_aws["rejected"].add("bob@example.net")
    state = TargetState.objects.create(
        booking=booking, target="crew", desired_version=booking.version
    )

    for _ in range(60):
        with django_capture_on_commit_callbacks(execute=True):
            outcome = engine.target_state_run(state.pk)
        if outcome.result == "done":
            break
        TargetState.objects.filter(pk=state.pk).update(next_attempt_at=None)
    state.refresh_from_db()

    assert state.status == "done"
    assert state.last_error.startswith(
        "Not told (failed for good): Bob Bounce: AWS MessageRejected"
    )
    assert state.detail["failed_members"] == [
        f"Bob Bounce: {Notification.objects.get(member=bad.member).error}"
    ]
    assert Notification.objects.get(member=good.member).status == "sent"
    failed = Notification.objects.get(member=bad.member)
    assert failed.status == "failed" and "blacklisted" in failed.error
    # Staff are told once, through the same outbox.
    (notice,) = StaffNotice.objects.all()
    assert (notice.kind, notice.recipient, notice.status) == (
        "notification_failed",
        SENDER,
        "sent",
    )
    assert "Bob Bounce" in notice.body and "blacklisted" in notice.body
