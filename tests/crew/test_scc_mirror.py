"""The legacy SCC mirror in DynamoDB (moto): idempotent conditional writes, cancellation, removal."""

from __future__ import annotations

from decimal import Decimal

import boto3
import pytest

from bookings.services import booking_cancel, booking_touch, booking_update
from crew.fanout import CrewTarget
from crew.integrations.scc_mirror import DynamoDbSccTables, booking_scc_mirror
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def dynamodb(aws, settings):
    """The two SCC tables as the legacy system defines them, created in the test."""
    client = boto3.client("dynamodb", region_name=settings.AWS_REGION)
    client.create_table(
        TableName="scc-events",
        KeySchema=[
            {"AttributeName": "event_id", "KeyType": "HASH"},
            {"AttributeName": "created_timestamp", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "event_id", "AttributeType": "S"},
            {"AttributeName": "created_timestamp", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.create_table(
        TableName="scc-crew-assignments",
        KeySchema=[{"AttributeName": "assignment_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "assignment_id", "AttributeType": "S"},
            {"AttributeName": "crew_id", "AttributeType": "S"},
            {"AttributeName": "event_id", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "crew_id-index",
                "KeySchema": [{"AttributeName": "crew_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "event_id-index",
                "KeySchema": [{"AttributeName": "event_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return boto3.resource("dynamodb", region_name=settings.AWS_REGION)


@pytest.fixture
def charter():
    booking = factories.BookingFactory(meeting_point="Harbor Island West Marina, dock C")
    captain = factories.CrewAssignmentFactory(booking=booking, role="captain", pay=Decimal("300"))
    deckhand = factories.CrewAssignmentFactory(booking=booking, role="deckhand")
    return booking, captain, deckhand


def items(resource, table):
    return resource.Table(table).scan(ConsistentRead=True)["Items"]


def test_the_event_and_each_assignment_are_written(dynamodb, charter):
    booking, captain, deckhand = charter

    counts = booking_scc_mirror(booking)

    assert counts == {"written": 3, "skipped": 0}
    (event,) = items(dynamodb, "scc-events")
    assert event["event_id"] == str(booking.pk)
    assert event["created_timestamp"].startswith(f"{booking.created_at:%Y-%m-%dT}")
    assert event["status"] == "active" and event["location"] == booking.meeting_point
    assert event["booking_version"] == Decimal(booking.version)
    by_crew = dynamodb.Table("scc-crew-assignments").query(
        IndexName="crew_id-index",
        KeyConditionExpression=boto3.dynamodb.conditions.Key("crew_id").eq(str(captain.member_id)),
    )["Items"]
    assert by_crew[0]["event_id"] == str(booking.pk)
    assert by_crew[0]["role"] == "captain" and by_crew[0]["pay"] == Decimal("300")


def test_running_again_writes_nothing_and_duplicates_nothing(dynamodb, charter):
    booking, *_ = charter
    booking_scc_mirror(booking)

    again = booking_scc_mirror(booking)

    assert again == {"written": 0, "skipped": 3}
    assert len(items(dynamodb, "scc-events")) == 1
    assert len(items(dynamodb, "scc-crew-assignments")) == 2


def test_a_stale_worker_cannot_roll_an_item_back(dynamodb, charter):
    booking, *_ = charter
    stale = type(booking).objects.get(pk=booking.pk)
    booking_update(booking, meeting_point="Shelter Island")
    booking_scc_mirror(booking)

    counts = booking_scc_mirror(stale)  # an old copy, version 1

    assert counts["written"] == 0
    assert items(dynamodb, "scc-events")[0]["location"] == "Shelter Island"


def test_cancellation_marks_the_event_and_its_crew_cancelled(dynamodb, charter):
    booking, *_ = charter
    booking_scc_mirror(booking)

    booking_cancel(booking)
    booking_scc_mirror(booking)

    assert items(dynamodb, "scc-events")[0]["status"] == "cancelled"
    assert {i["status"] for i in items(dynamodb, "scc-crew-assignments")} == {"cancelled"}


def test_a_member_taken_off_is_marked_removed(dynamodb, charter):
    booking, captain, deckhand = charter
    booking_scc_mirror(booking)

    deckhand.delete()
    booking_touch(booking, reason="crew_changed")
    booking_scc_mirror(booking)

    status = {i["crew_id"]: i["status"] for i in items(dynamodb, "scc-crew-assignments")}
    assert status == {str(captain.member_id): "active", str(deckhand.member_id): "removed"}
    assert items(dynamodb, "scc-events")[0]["crew_ids"] == [str(captain.member_id)]


def test_the_crew_target_mirrors_only_when_enabled(dynamodb, charter, settings):
    booking, *_ = charter
    result = CrewTarget().sync(booking, state=None)
    assert "scc" not in result.detail and items(dynamodb, "scc-events") == []

    settings.CHARTEROPS_SCC_MIRROR = "dynamodb"
    result = CrewTarget().sync(booking, state=None)

    assert result.detail["scc"] == {"written": 3, "skipped": 0}
    assert result.detail["sent"] == 0  # the crew were told by the first run


def test_table_names_come_from_settings(aws, settings):
    settings.CHARTEROPS_SCC_EVENTS_TABLE = "legacy-events"
    settings.CHARTEROPS_SCC_ASSIGNMENTS_TABLE = "legacy-crew"
    tables = DynamoDbSccTables()
    assert (tables.events, tables.assignments) == ("legacy-events", "legacy-crew")
