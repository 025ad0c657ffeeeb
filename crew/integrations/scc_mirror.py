"""The legacy ShipCaptainCrew (SCC) mirror: crew events and assignments in DynamoDB.

Off unless ``CHARTEROPS_SCC_MIRROR=dynamodb``. The existing SCC front end reads two tables:

- ``scc-events``: partition key ``event_id`` (the booking id), range key ``created_timestamp``
  (the booking's creation time, ISO 8601 UTC, so the key never changes);
- ``scc-crew-assignments``: key ``assignment_id`` (``<event_id>#<crew_id>``), with ``crew_id``
  and ``event_id`` attributes for that table's indexes.

Every write is conditional on the item being absent or older (``booking_version``), so a
re-run, a redelivered task or a stale worker never duplicates or rolls an item back.
Cancellation marks the event and its assignments ``cancelled``; a member taken off the
charter is marked ``removed``. Only this module imports boto3.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings

if TYPE_CHECKING:
    from bookings.models import Booking


class SccTables(Protocol):
    def event_get(self, event_id: str, created_timestamp: str) -> dict[str, Any] | None:
        """The stored event item, or None."""

    def put_if_newer(self, table: str, item: dict[str, Any], *, key: str) -> bool:
        """Write ``item`` unless a version at least as new is stored; returns whether it wrote."""


class DynamoDbSccTables:
    """The real tables, through boto3's resource API (numbers as Decimal)."""

    def __init__(self, resource: Any = None) -> None:
        import boto3

        self.resource = resource or boto3.resource(
            "dynamodb",
            region_name=settings.AWS_REGION,
            endpoint_url=settings.CHARTEROPS_DYNAMODB_ENDPOINT_URL,
        )
        self.events = settings.CHARTEROPS_SCC_EVENTS_TABLE
        self.assignments = settings.CHARTEROPS_SCC_ASSIGNMENTS_TABLE

    def event_get(self, event_id: str, created_timestamp: str) -> dict[str, Any] | None:
        table = self.resource.Table(self.events)
        response = table.get_item(
            Key={"event_id": event_id, "created_timestamp": created_timestamp},
            ConsistentRead=True,
        )
        return response.get("Item")

    def put_if_newer(self, table: str, item: dict[str, Any], *, key: str) -> bool:
        from boto3.dynamodb.conditions import Attr
        from botocore.exceptions import ClientError

        condition = Attr(key).not_exists() | Attr("booking_version").lt(item["booking_version"])
        try:
            self.resource.Table(table).put_item(Item=item, ConditionExpression=condition)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False  # this version (or a newer one) is already there
            raise
        return True


def scc_event_id(booking: Booking) -> str:
    """The SCC event id of a booking: its CharterOps id (the crew page is /crew/events/<id>/)."""
    return str(booking.pk)


def _created_timestamp(booking: Booking) -> str:
    return booking.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def booking_scc_mirror(booking: Booking, *, tables: SccTables | None = None) -> dict[str, int]:
    """Make the SCC tables show this booking's crew event as it is now. Idempotent.

    Returns counts of items written and skipped (already current). Errors are botocore's,
    sorted into transient/permanent by the fan-out engine.
    """
    tables = tables or DynamoDbSccTables()
    event_id = scc_event_id(booking)
    created = _created_timestamp(booking)
    version = Decimal(booking.version)
    status = "active" if booking.is_live else "cancelled"
    assignments = list(booking.assignments.select_related("member").order_by("pk"))
    crew_ids = [str(a.member_id) for a in assignments]
    previous = tables.event_get(event_id, created) or {}
    counts = {"written": 0, "skipped": 0}

    def put(table: str, item: dict[str, Any], key: str) -> None:
        counts["written" if tables.put_if_newer(table, item, key=key) else "skipped"] += 1

    events_table = getattr(tables, "events", settings.CHARTEROPS_SCC_EVENTS_TABLE)
    crew_table = getattr(tables, "assignments", settings.CHARTEROPS_SCC_ASSIGNMENTS_TABLE)
    for assignment in assignments:
        put(
            crew_table,
            {
                "assignment_id": f"{event_id}#{assignment.member_id}",
                "event_id": event_id,
                "crew_id": str(assignment.member_id),
                "crew_name": assignment.member.name,
                "crew_email": assignment.member.email,
                "role": assignment.role,
                "pay": Decimal(assignment.pay),
                "response": assignment.response,
                "status": status,
                "booking_version": version,
            },
            "assignment_id",
        )
    for crew_id in previous.get("crew_ids", []):
        if crew_id not in crew_ids:
            put(
                crew_table,
                {
                    "assignment_id": f"{event_id}#{crew_id}",
                    "event_id": event_id,
                    "crew_id": crew_id,
                    "status": "removed",
                    "booking_version": version,
                },
                "assignment_id",
            )
    put(
        events_table,
        {
            "event_id": event_id,
            "created_timestamp": created,
            "title": f"{booking.boat.name} · {booking.guest_name}",
            "boat": booking.boat.name,
            "start_time": booking.start.astimezone(UTC).isoformat(),
            "end_time": booking.end.astimezone(UTC).isoformat(),
            "location": booking.meeting_point,
            "booking_reference": booking.reference,
            "status": status,
            "crew_ids": crew_ids,
            "booking_version": version,
        },
        "event_id",
    )
    return counts
