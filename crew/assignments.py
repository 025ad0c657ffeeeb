"""A crew member answering an invitation to a charter (accept or decline)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from bookings.models import Booking
from bookings.people import BookingContact
from charterops.audit import audit_log

from .models import CrewAssignment, CrewMember, Role


def booking_captain_contact(booking: Booking) -> BookingContact | None:
    """The captain the guests meet: the captain-role assignment that is not declined,
    accepted before invited, the earliest first. One query; registered as the provider of
    ``bookings.people.booking_captain`` (crew's ``AppConfig.ready``)."""
    captain = (
        CrewAssignment.objects.select_related("member")
        .filter(booking=booking, role=Role.CAPTAIN)
        .exclude(response=CrewAssignment.Response.DECLINED)
        .order_by("-response", "created_at")
        .first()
    )
    if captain is None:
        return None
    return BookingContact(name=captain.member.name, phone=captain.member.phone or "")


class ResponseRefused(Exception):
    """An answer that cannot be recorded; the message is shown to the member."""


def crew_assignment_respond(
    assignment: CrewAssignment, *, response: str, actor: Any = None
) -> bool:
    """Record the member's accept/decline on ``assignment``; returns whether anything changed.

    Idempotent: answering the same again changes nothing and writes no audit row. A member
    may change their mind until the charter starts. One transaction, one audit row
    (``crew.assignment.accepted`` / ``crew.assignment.declined``); a decline also records one
    staff notice per staff recipient, sent through the outbox after commit.
    """
    Response = CrewAssignment.Response
    if response not in (Response.ACCEPTED, Response.DECLINED):
        raise ResponseRefused("Answer accept or decline.")
    if assignment.booking.is_ended:
        raise ResponseRefused("This charter was cancelled.")
    if timezone.now() >= assignment.booking.start and assignment.response != Response.INVITED:
        raise ResponseRefused("The charter has started; call the office to change your answer.")
    with transaction.atomic():
        now = timezone.now()
        changed = (
            CrewAssignment.objects.filter(pk=assignment.pk)
            .exclude(response=response)
            .update(response=response, responded_at=now)
        )
        if not changed:
            return False
        previous = assignment.response
        assignment.response, assignment.responded_at = response, now
        audit_log(
            f"crew.assignment.{response}",
            assignment,
            actor=actor,
            booking=assignment.booking,
            data={"previous": previous},
        )
        if response == Response.DECLINED:
            from .staff_notices import staff_notice_declined

            staff_notice_declined(assignment)  # once per decline, sent after commit
    return True


@dataclass(frozen=True)
class CrewLine:
    """One wanted assignment: who, in which role, for what pay."""

    member: CrewMember
    role: str
    pay: Decimal


def crew_assignments_apply(booking: Booking, crew: list[CrewLine]) -> dict[str, Any]:
    """Make the booking's assignments match ``crew``; returns what changed (empty: nothing).

    Writes no audit row and bumps nothing itself: it runs as the ``also`` of a booking
    change (``bookings.services.booking_update``), under that booking's lock and in its
    transaction, so the booking and its crew change together in one version and one audit
    row. Idempotent: the same list twice changes nothing the second time.
    """
    current = {a.member_id: a for a in CrewAssignment.objects.filter(booking=booking)}
    wanted = {line.member.pk: line for line in crew}
    changes: dict[str, Any] = {}
    for member_id, line in wanted.items():
        assignment = current.get(member_id)
        if assignment is None:
            CrewAssignment.objects.create(
                booking=booking, member=line.member, role=line.role, pay=line.pay
            )
            changes.setdefault("added", []).append(line.member.name)
        elif (assignment.role, assignment.pay) != (line.role, line.pay):
            assignment.role, assignment.pay = line.role, line.pay
            assignment.save(update_fields=["role", "pay"])
            changes.setdefault("changed", []).append(line.member.name)
    for member_id, assignment in current.items():
        if member_id not in wanted:
            changes.setdefault("removed", []).append(str(assignment.member))
            assignment.delete()
    return {"crew": changes} if changes else {}
