"""SES bounces and complaints arrive through anymail's tracking webhook and mark crew mail."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from charterops.models import AuditEvent
from crew.models import CrewMember, Notification
from tests import factories

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
URL = "/anymail/amazon_ses/tracking/"
SECRET = "sns-hook:correct-horse"


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": [SECRET]}


@pytest.fixture
def sent_note():
    return factories.NotificationFactory(
        provider_message_id="0100018f-ses-message-id", member__email="cora@example.com"
    )


def payload(name: str, note: Notification, **overrides: str) -> dict:
    text = (FIXTURES / f"{name}.json").read_text()
    values = {
        "message_id": note.provider_message_id,
        "recipient": note.member.email,
        "notification_id": str(note.pk),
        **overrides,
    }
    envelope = json.loads(text)
    message = envelope["Message"]
    for key, value in values.items():
        message = message.replace("{{" + key + "}}", value)
    envelope["Message"] = message
    return envelope


def post(client, envelope: dict, *, auth: str | None = SECRET):
    headers = {
        "HTTP_X_AMZ_SNS_MESSAGE_TYPE": envelope["Type"],
        "HTTP_X_AMZ_SNS_MESSAGE_ID": envelope["MessageId"],
    }
    if auth:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return client.post(URL, json.dumps(envelope), content_type="text/plain", **headers)


def test_a_permanent_bounce_marks_the_notification_and_flags_the_address(client, sent_note):
    response = post(client, payload("ses_bounce__permanent", sent_note))

    assert response.status_code == 200
    sent_note.refresh_from_db()
    assert sent_note.status == "bounced"
    assert "Permanent" in sent_note.error
    member = CrewMember.objects.get(pk=sent_note.member_id)
    assert member.email_flagged.startswith("bounced: Permanent: General")
    assert AuditEvent.objects.filter(action="crew.notification.bounced").count() == 1


def test_a_duplicate_delivery_changes_nothing_more(client, sent_note):
    envelope = payload("ses_bounce__permanent", sent_note)
    post(client, envelope)
    response = post(client, envelope)

    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="crew.notification.bounced").count() == 1


def test_a_complaint_flags_the_address(client, sent_note):
    post(client, payload("ses_complaint__abuse", sent_note))

    sent_note.refresh_from_db()
    assert sent_note.status == "bounced"
    assert CrewMember.objects.get(pk=sent_note.member_id).email_flagged == "complained: abuse"


def test_a_soft_bounce_marks_the_message_but_keeps_the_address(client, sent_note):
    post(client, payload("ses_bounce__transient", sent_note))

    sent_note.refresh_from_db()
    assert sent_note.status == "bounced"
    assert CrewMember.objects.get(pk=sent_note.member_id).email_flagged == ""


def test_metadata_finds_the_notification_when_the_message_id_is_unknown(client, sent_note):
    post(client, payload("ses_bounce__permanent", sent_note, message_id="other-id"))

    sent_note.refresh_from_db()
    assert sent_note.status == "bounced"


def test_mail_that_is_not_a_crew_notification_is_ignored(client, sent_note):
    envelope = payload(
        "ses_bounce__permanent", sent_note, message_id="unrelated", notification_id="x"
    )
    assert post(client, envelope).status_code == 200
    sent_note.refresh_from_db()
    assert sent_note.status == "sent"


def test_without_credentials_the_webhook_asks_for_them(client, sent_note):
    response = post(client, payload("ses_bounce__permanent", sent_note), auth=None)
    assert response.status_code == 401
    assert post(client, payload("ses_bounce__permanent", sent_note), auth="x:y").status_code in (
        400,
        403,
    )
    sent_note.refresh_from_db()
    assert sent_note.status == "sent"
