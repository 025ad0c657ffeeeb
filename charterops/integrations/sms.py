"""Text messages and topic messages through Amazon SNS, behind small Protocols (crew and guests).

``SnsSms`` publishes to a phone number, ``SnsTopic`` publishes a JSON message to a topic
(the seed's ``scc-crew-notifications`` subscribers). ``OutboxSms`` / ``OutboxTopic`` are the
embedded default: each message is written as JSON to ``var/outbox/sms/`` (or ``topic/``) and
kept in memory for tests. Only this module imports boto3; errors pass through as raised by
botocore and are sorted into transient and permanent by ``charterops.fanout.errors.classify``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, ClassVar, Protocol

from django.conf import settings
from django.utils import timezone


class SmsSender(Protocol):
    def send(self, *, phone: str, text: str) -> str:
        """Send ``text`` to the E.164 ``phone``; returns the provider's message id. Not idempotent."""


class TopicPublisher(Protocol):
    def publish(self, *, message: dict[str, Any], subject: str = "") -> str:
        """Publish ``message`` as JSON to the configured topic; returns the message id."""


def _sns_client():
    import boto3

    return boto3.client("sns", region_name=settings.AWS_REGION)


class SnsSms:
    """Transactional SMS through SNS ``publish(PhoneNumber=...)``."""

    def __init__(self, client: Any = None, *, sender_id: str = "") -> None:
        self.client = client or _sns_client()
        self.sender_id = sender_id

    def send(self, *, phone: str, text: str) -> str:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {
                "DataType": "String",
                "StringValue": self.sender_id,
            }
        response = self.client.publish(
            PhoneNumber=phone, Message=text, MessageAttributes=attributes
        )
        return response["MessageId"]


class SnsTopic:
    """A JSON message to one SNS topic, with a ``kind`` attribute subscribers can filter on."""

    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self.topic_arn = topic_arn
        self.client = client or _sns_client()

    def publish(self, *, message: dict[str, Any], subject: str = "") -> str:
        params: dict[str, Any] = {
            "TopicArn": self.topic_arn,
            "Message": json.dumps(message, default=str),
            "MessageAttributes": {
                "kind": {"DataType": "String", "StringValue": str(message.get("kind", ""))}
            },
        }
        if subject:
            params["Subject"] = subject[:100]
        return self.client.publish(**params)["MessageId"]


class _Outbox:
    folder: ClassVar[str]
    sent: ClassVar[list[dict[str, Any]]]

    def _write(self, record: dict[str, Any]) -> str:
        message_id = f"outbox-{uuid.uuid4().hex}"
        record = {"message_id": message_id, "at": timezone.now().isoformat(), **record}
        type(self).sent.append(record)
        folder = Path(settings.OUTBOX_DIR) / self.folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{message_id}.json").write_text(json.dumps(record, default=str, indent=2))
        return message_id


class OutboxSms(_Outbox):
    """The embedded default: text messages land in ``var/outbox/sms/``; ``sent`` keeps them."""

    folder = "sms"
    sent: ClassVar[list[dict[str, Any]]] = []

    def send(self, *, phone: str, text: str) -> str:
        return self._write({"phone": phone, "text": text})


class OutboxTopic(_Outbox):
    """Topic messages land in ``var/outbox/topic/`` when no topic ARN is configured."""

    folder = "topic"
    sent: ClassVar[list[dict[str, Any]]] = []

    def publish(self, *, message: dict[str, Any], subject: str = "") -> str:
        return self._write({"subject": subject, "message": message})


def get_sms_sender() -> SmsSender:
    """The configured sender: ``CHARTEROPS_SMS_BACKEND`` is ``outbox`` (default) or ``sns``."""
    if settings.CHARTEROPS_SMS_BACKEND == "sns":
        return SnsSms()
    return OutboxSms()


def get_topic_publisher() -> TopicPublisher | None:
    """The topic publisher when ``CHARTEROPS_SNS_TOPIC_ARN`` is set (optional), else None."""
    if not settings.CHARTEROPS_SNS_TOPIC_ARN:
        return None
    if settings.CHARTEROPS_SMS_BACKEND == "sns":
        return SnsTopic(settings.CHARTEROPS_SNS_TOPIC_ARN)
    return OutboxTopic()
