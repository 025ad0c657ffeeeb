"""Telling staff: a decline, a member silent close to the charter, a crew message failed for good.

Each event records one ``StaffNotice`` per staff recipient (``CHARTEROPS_OPERATIONS_EMAIL``
and the active Operations staff holding ``crew.receive_staffnotice``), in the transaction of
the event itself; the unique (event, recipient) constraint makes a redelivered task or a
repeated check record nothing new. The rows are sent through the outbox
(``charterops.outbox``) after commit, like crew notifications, and listed in
**Crew › Staff notices** (the crew attention list).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, make_msgid
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from charterops.outbox import outbox_deliver, outbox_sweep

from .models import CrewAssignment, Notification, StaffNotice

__all__ = [
    "staff_notice_declined",
    "staff_notice_deliver",
    "staff_notice_notification_failed",
    "staff_notice_silent",
    "staff_notices_sweep",
    "staff_recipients",
]

log = logging.getLogger(__name__)
Kind = StaffNotice.Kind


def staff_recipients() -> list[str]:
    """The operations address(es) and the opted-in Operations staff, deduplicated, in order."""
    User = get_user_model()
    perm = Q(user_permissions__codename="receive_staffnotice") | Q(
        groups__permissions__codename="receive_staffnotice"
    )
    staff = (
        User.objects.filter(perm, is_active=True, groups__name="Operations")
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    seen: dict[str, None] = {}
    for address in [*settings.CHARTEROPS_OPERATIONS_EMAIL, *sorted(staff)]:
        seen.setdefault(address.strip().lower(), None)
    return [a for a in seen if a]


def _booking_line(assignment: CrewAssignment) -> str:
    from .notifications import crew_snapshot, describe_time

    booking = assignment.booking
    when = describe_time(crew_snapshot(booking, assignment))
    return f"{booking.boat.name}, {when} (booking {booking.external_id or booking.pk})"


def _notice_record(*, kind: str, event: str, subject: str, body: str, **about: Any) -> list[int]:
    """Insert one queued notice per recipient (none twice per event); send them after commit."""
    ids: list[int] = []
    for recipient in staff_recipients():
        try:
            with transaction.atomic():
                notice = StaffNotice.objects.create(
                    kind=kind,
                    event=event[:100],
                    recipient=recipient,
                    subject=subject[:200],
                    body=body,
                    **about,
                )
        except IntegrityError:
            continue  # this event was already recorded for this recipient
        ids.append(notice.pk)
    if ids:
        transaction.on_commit(lambda: staff_notices_enqueue(ids))
    elif not settings.CHARTEROPS_OPERATIONS_EMAIL:
        log.info("staff notice %s: no recipient configured (CHARTEROPS_OPERATIONS_EMAIL)", event)
    return ids


def staff_notice_declined(assignment: CrewAssignment) -> list[int]:
    """A member declined: tell staff once per decline. Call inside the decline's transaction."""
    line = _booking_line(assignment)
    return _notice_record(
        kind=Kind.DECLINED,
        event=f"declined:{assignment.pk}:{assignment.responded_at:%Y%m%dT%H%M%S.%f}",
        subject=f"Crew declined: {assignment.member.name}, {line}",
        body=(
            f"{assignment.member.name} ({assignment.get_role_display()}) declined the charter "
            f"{line}.\nFind a replacement in the booking's crew section."
        ),
        booking=assignment.booking,
        member=assignment.member,
    )


def staff_notice_silent(assignment: CrewAssignment) -> list[int]:
    """A member is still unanswered at the escalation time: tell staff once per assignment."""
    line = _booking_line(assignment)
    return _notice_record(
        kind=Kind.SILENT,
        event=f"silent:{assignment.pk}:{assignment.link_generation}:{assignment.booking.start:%Y%m%dT%H%M}",
        subject=f"Crew has not answered: {assignment.member.name}, {line}",
        body=(
            f"{assignment.member.name} ({assignment.get_role_display()}) has not accepted or "
            f"declined the charter {line}, which starts within "
            f"{settings.CHARTEROPS_CREW_ESCALATION_HOURS} hours. Call them, or replace them."
        ),
        booking=assignment.booking,
        member=assignment.member,
    )


def staff_notice_notification_failed(note: Notification) -> list[int]:
    """A crew message failed for good: tell staff once per failure (the outbox's on_failed)."""
    booking = note.booking
    return _notice_record(
        kind=Kind.NOTIFICATION_FAILED,
        event=f"notification_failed:{note.pk}:{timezone.now():%Y%m%dT%H%M%S.%f}",
        subject=f"Crew message failed: {note.member.name}, booking {booking.external_id or booking.pk}",
        body=(
            f'The "{note.get_kind_display()}" message to {note.member.name} '
            f"({note.get_channel_display()}) about booking {booking.external_id or booking.pk} "
            f"(version {note.booking_version}) could not be sent: {note.error}\n"
            "Fix the member's address or phone, then use 'Send failed notifications again' "
            "in Crew › Notifications."
        ),
        booking=booking,
        member=note.member,
    )


def _send(notice: StaffNotice) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ")
    message_id = make_msgid(domain=domain)
    message = EmailMessage(
        notice.subject, notice.body, to=[notice.recipient], headers={"Message-ID": message_id}
    )
    message.tags = ["staff", notice.kind]
    message.send()
    status = getattr(message, "anymail_status", None)
    return (status.message_id if status is not None else None) or message_id


def staff_notice_deliver(notice_id: int) -> str:
    """Send one staff notice through the outbox (claim, send outside a transaction, record).

    Same outcomes as ``charterops.outbox.outbox_deliver``. A notice that fails for good tells
    no one else (no notice about a notice): it shows failed in the admin list.
    """
    return outbox_deliver(StaffNotice.objects.all(), notice_id, send=_send)


def staff_notices_enqueue(ids: list[int]) -> None:
    """Wake a worker for each notice (after commit); the sweep sends any message that is lost."""
    from .notifications import _task_options
    from .tasks import staff_notice_deliver_task

    for notice_id in ids:
        staff_notice_deliver_task.apply_async((notice_id,), **_task_options())


def staff_notices_sweep(*, limit: int = 200) -> dict[str, int]:
    """Deliver every staff notice that is due (what beat runs with the crew outbox sweep)."""
    return outbox_sweep(StaffNotice.objects.all(), staff_notice_deliver, limit=limit)
