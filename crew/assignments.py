"""A crew member answering an invitation to a charter (accept or decline)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from charterops.audit import audit_log

from .models import CrewAssignment


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
