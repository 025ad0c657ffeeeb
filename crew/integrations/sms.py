"""Re-export of ``charterops.integrations.sms``: the SNS adapter moved there so guest pages
can text guests without importing crew (dependencies run charterops ← bookings ← crew,
guestpages). The classes are the same objects, so ``OutboxSms.sent`` is shared."""

from charterops.integrations.sms import (
    OutboxSms,
    OutboxTopic,
    SmsSender,
    SnsSms,
    SnsTopic,
    TopicPublisher,
    get_sms_sender,
    get_topic_publisher,
)

__all__ = [
    "OutboxSms",
    "OutboxTopic",
    "SmsSender",
    "SnsSms",
    "SnsTopic",
    "TopicPublisher",
    "get_sms_sender",
    "get_topic_publisher",
]
