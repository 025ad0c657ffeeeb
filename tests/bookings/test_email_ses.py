"""SES inbound through anymail's webhook: SNS notifications with the raw MIME inline or in S3."""

from __future__ import annotations

import base64
import json

import boto3
import pytest

from bookings.intake.mail.models import InboundEmail
from bookings.models import Booking
from tests.bookings.email_support import eml

pytestmark = pytest.mark.django_db
URL = "/anymail/amazon_ses/inbound/"
SECRET = "sns-inbound:correct-horse"
TOPIC = "arn:aws:sns:us-west-2:123456789012:charterops-inbound"
BUCKET = "charterops-inbound-mail"


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": [SECRET]}


def ses_event(*, action: dict, content: str | None, verdict: str = "PASS") -> dict:
    event = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2027-01-11T16:02:48.120Z",
            "source": "bounces+4412@em.boatsetter.com",
            "messageId": "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1",
            "destination": ["bookings@in.queenofsandiego.com"],
            "headersTruncated": False,
            "commonHeaders": {
                "from": ["Boatsetter <notifications@boatsetter.com>"],
                "subject": "Booking confirmed",
            },
        },
        "receipt": {
            "timestamp": "2027-01-11T16:02:48.120Z",
            "processingTimeMillis": 574,
            "recipients": ["bookings@in.queenofsandiego.com"],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": verdict},
            "dkimVerdict": {"status": verdict},
            "dmarcVerdict": {"status": verdict},
            "action": action,
        },
    }
    if content is not None:
        event["content"] = content
    return event


def sns(message: dict, *, message_id: str = "7f1a0b3c-5a2e-5d6f-9c41-0e7c1b0a9d11") -> dict:
    """An SNS notification as SNS posts it (its signature fields included; anymail does not
    verify them, it checks basic auth and the SNS headers)."""
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": json.dumps(message),
        "Timestamp": "2027-01-11T16:02:48.732Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
        "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
        "UnsubscribeURL": f"https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC}:c9135db0",
    }  # fmt: skip


def post(client, envelope: dict, *, auth: str | None = SECRET):
    headers = {
        "HTTP_X_AMZ_SNS_MESSAGE_TYPE": envelope["Type"],
        "HTTP_X_AMZ_SNS_MESSAGE_ID": envelope["MessageId"],
        "HTTP_X_AMZ_SNS_TOPIC_ARN": envelope["TopicArn"],
    }
    if auth:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return client.post(URL, json.dumps(envelope), content_type="text/plain", **headers)


def inline(name: str = "boatsetter__confirmed__both_parts", **kwargs) -> dict:
    raw = eml(name)
    action = {"type": "SNS", "topicArn": TOPIC, "encoding": "BASE64"}
    return sns(ses_event(action=action, content=base64.b64encode(raw).decode(), **kwargs))


def test_inline_content_is_stored_raw_with_ses_verdicts_and_proposed(client, queen):
    response = post(client, inline())

    assert response.status_code == 200
    email = InboundEmail.objects.get()
    assert email.via == "ses"
    assert bytes(email.raw) == eml("boatsetter__confirmed__both_parts")
    assert (email.dkim, email.spf, email.dmarc) == ("pass", "pass", "pass")
    assert email.envelope["auth"]["source"] == "ses"
    assert email.envelope["mail_from"] == "bounces+4412@em.boatsetter.com"
    assert email.envelope["rcpt_to"] == ["bookings@in.queenofsandiego.com"]
    assert email.status == "proposed" and email.authenticated


def test_an_sns_retry_is_stored_once(client, queen):
    envelope = inline()
    post(client, envelope)
    assert post(client, envelope).status_code == 200

    assert InboundEmail.objects.get().times_seen == 2


def test_ses_failing_dmarc_is_not_authenticated_nor_auto_applied(client, queen, settings):
    settings.CHARTEROPS_MAIL_AUTO_APPLY = ["boatsetter"]
    post(client, inline(verdict="FAIL"))

    email = InboundEmail.objects.get()
    assert (email.dkim, email.dmarc, email.authenticated) == ("fail", "fail", False)
    assert email.status == "proposed"
    assert not Booking.objects.exists()


def test_ses_passing_mail_is_auto_applied_where_allowed(client, queen, settings):
    settings.CHARTEROPS_MAIL_AUTO_APPLY = ["boatsetter"]
    post(client, inline())

    assert InboundEmail.objects.get().status == "applied"
    assert Booking.objects.get().external_id == "BS-4839215"


def test_without_basic_auth_nothing_is_stored(client, queen):
    assert post(client, inline(), auth=None).status_code == 401
    assert post(client, inline(), auth="sns-inbound:wrong").status_code == 400
    assert not InboundEmail.objects.exists()


def test_a_topic_not_listed_is_dropped(client, queen, settings):
    settings.CHARTEROPS_MAIL_SES_TOPIC_ARNS = ["arn:aws:sns:us-west-2:123456789012:other"]

    assert post(client, inline()).status_code == 200
    assert not InboundEmail.objects.exists()


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("boatsetter__confirmed__truncated_mime", "unparsed"),
        ("boatsetter__unknown__new_layout", "unparsed"),
        ("boatsetter__confirmed__spoofed_sender", "proposed"),
        ("boatsetter__confirmed__dkim_failed", "proposed"),
        ("boatsetter__confirmed__html_only", "proposed"),
        ("boatsetter__confirmed__forwarded", "proposed"),
    ],
)
def test_suspicious_or_broken_mail_through_ses_is_stored_never_auto_applied_not_a_500(
    client, queen, settings, name, status
):
    settings.CHARTEROPS_MAIL_AUTO_APPLY = ["boatsetter"]
    # SES's verdicts are about the envelope: make them fail as they would for these
    assert post(client, inline(name, verdict="FAIL")).status_code == 200
    assert InboundEmail.objects.get().status == status
    assert not Booking.objects.exists()


def test_s3_content_is_fetched_with_boto3(client, queen, aws, settings):
    s3 = boto3.client("s3", region_name=settings.AWS_REGION)
    s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": settings.AWS_REGION}
    )
    raw = eml("boatsetter__changed__new_time")
    s3.put_object(Bucket=BUCKET, Key="inbound/o3vrnil0e2ic28", Body=raw)
    action = {
        "type": "S3",
        "topicArn": TOPIC,
        "bucketName": BUCKET,
        "objectKeyPrefix": "inbound/",
        "objectKey": "inbound/o3vrnil0e2ic28",
    }

    response = post(client, sns(ses_event(action=action, content=None)))

    assert response.status_code == 200
    email = InboundEmail.objects.get()
    assert email.message_id == "<chg.4839215.1736886669@boatsetter.com>"
    assert email.status == "proposed" and email.event == "changed"
    assert b"Start time: 1:00 PM" in bytes(email.raw)


def test_a_20_mb_message_in_s3_is_stored_whole_not_a_500(client, queen, aws, settings):
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Boatsetter <notifications@boatsetter.com>"
    message["Subject"] = "Booking confirmed: Ana Ruiz"
    message["Message-ID"] = "<big-s3@boatsetter.com>"
    message.set_content("Photos of the dock attached.")
    message.add_attachment(b"\0" * (20 * 1024 * 1024), maintype="application",
                           subtype="octet-stream", filename="dock.bin")  # fmt: skip
    s3 = boto3.client("s3", region_name=settings.AWS_REGION)
    s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": settings.AWS_REGION}
    )
    s3.put_object(Bucket=BUCKET, Key="inbound/big", Body=message.as_bytes())
    action = {"type": "S3", "topicArn": TOPIC, "bucketName": BUCKET, "objectKey": "inbound/big"}

    assert post(client, sns(ses_event(action=action, content=None))).status_code == 200
    email = InboundEmail.objects.get()
    assert email.size > 20 * 1024 * 1024
    assert email.status == "unparsed"


def _s3_put(settings, key: str, raw: bytes) -> dict:
    s3 = boto3.client("s3", region_name=settings.AWS_REGION)
    s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": settings.AWS_REGION}
    )
    s3.put_object(Bucket=BUCKET, Key=key, Body=raw)
    return {"type": "S3", "topicArn": TOPIC, "bucketName": BUCKET, "objectKey": key}


def test_s3_content_is_stored_byte_for_byte_as_ses_wrote_it(client, queen, aws, settings):
    # CRLF line ends, a header folded with a tab, odd spacing: re-serialising the parsed
    # message (what anymail's signal offers) would change every one of them.
    raw = eml("boatsetter__changed__new_time").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    raw = raw.replace(b"\r\nSubject:", b"\r\nX-Relay-Note:  kept\r\n\tas  folded\r\nSubject:", 1)
    action = _s3_put(settings, "inbound/exact", raw)

    assert post(client, sns(ses_event(action=action, content=None))).status_code == 200

    email = InboundEmail.objects.get()
    assert bytes(email.raw) == raw
    assert email.envelope["raw_from"] == f"s3://{BUCKET}/inbound/exact"
    assert email.status == "proposed" and email.event == "changed"


def test_s3_object_unreadable_a_second_time_falls_back_to_anymail_s_copy(
    client, queen, aws, settings, monkeypatch
):
    """Never lost: if our own read fails after anymail's succeeded, anymail's copy is kept."""
    from charterops.integrations import s3 as s3_adapter

    action = _s3_put(settings, "inbound/flaky", eml("boatsetter__changed__new_time"))
    monkeypatch.setattr(s3_adapter.S3ObjectStore, "read", lambda self, key, max_bytes: None)

    assert post(client, sns(ses_event(action=action, content=None))).status_code == 200

    email = InboundEmail.objects.get()
    assert email.envelope["raw_from"] == "anymail"
    assert email.status == "proposed" and b"Start time: 1:00 PM" in bytes(email.raw)


def test_inline_content_is_kept_as_sent(client, queen):
    assert post(client, inline()).status_code == 200

    email = InboundEmail.objects.get()
    assert bytes(email.raw) == eml("boatsetter__confirmed__both_parts")
    assert email.envelope["raw_from"] == "inline"
