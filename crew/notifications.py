"""Telling crew about their charters: one Notification row per member, version and kind.

What a member is told is decided by comparing the charter as it is now (for that member:
time, boat, meeting point, role, pay) with what the member was last told, kept as a
snapshot in ``Notification.changes["told"]``:

- never told (or last told "removed"/"cancelled") and on a live charter → ``new``;
- told, and something relevant to *them* differs → ``changed``, with ``changes["diff"]``;
- told, nothing relevant differs (a guest-phone edit, another member's pay) → nothing;
- told, no longer assigned → ``removed``; told, charter no longer live → ``cancelled``.

A member who declined is not told about later changes, removal or cancellation.

The row is written (status ``queued``) before anything is sent; the unique constraint on
(booking, member, booking_version, kind) makes a second run, a redelivered task or a
concurrent worker record nothing new. Delivery locks the queued row, sends, and records
``sent`` (with the provider's message id) or ``failed``; a transient error leaves the row
queued and is raised so the fan-out engine retries, and the retry sends only what is still
queued. The one gap left is a crash between the provider accepting a message and the
commit of ``sent``: that message may go twice (at-least-once), never zero times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, make_msgid
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from bookings.models import Booking
from charterops.fanout.errors import classify
from charterops.fanout.targets import TransientError

from .integrations.sms import get_sms_sender, get_topic_publisher
from .magic_links import crew_link_expires_at, crew_magic_link
from .models import CrewAssignment, CrewMember, Notification

__all__ = [
    "booking_crew_notify",
    "crew_assignment_notify",
    "crew_magic_link",  # re-exported: it lives in crew.magic_links
    "notification_deliver",
    "notification_retry",
    "NotifyResult",
]

log = logging.getLogger(__name__)
Kind = Notification.Kind
Status = Notification.Status

#: kinds that tell a member where they stand on a charter (the others only remind).
TELLING_KINDS = (Kind.NEW, Kind.CHANGED, Kind.REMOVED, Kind.CANCELLED)
#: the facts a member is told, in the order a change message lists them.
FACTS = ("time", "boat", "meeting_point", "role", "pay")
FACT_LABELS = {
    "time": "Time",
    "boat": "Boat",
    "meeting_point": "Meeting point",
    "role": "Role",
    "pay": "Pay",
}


@dataclass
class NotifyResult:
    """What one run did: rows recorded by kind, rows sent, failed, still queued (transient)."""

    recorded: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    failed: int = 0
    queued: int = 0
    errors: list[str] = field(default_factory=list)

    def as_detail(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded,
            "sent": self.sent,
            "failed": self.failed,
            "queued": self.queued,
        }


# --- What a member knows ---------------------------------------------------------------------


def crew_snapshot(booking: Booking, assignment: CrewAssignment) -> dict[str, str]:
    """The facts of the charter that matter to this member, as JSON-safe strings."""
    return {
        "start": booking.start.isoformat(),
        "end": booking.end.isoformat(),
        "boat": booking.boat.name,
        "meeting_point": booking.meeting_point,
        "role": assignment.get_role_display(),
        "pay": f"{Decimal(assignment.pay):.2f}",
    }


def _local(iso: str) -> datetime:
    return timezone.localtime(parse_datetime(iso))


def describe_time(snapshot: dict[str, str]) -> str:
    """'Sat Nov 28, 10:00–14:00' in Pacific time (the charter's local time)."""
    start, end = _local(snapshot["start"]), _local(snapshot["end"])
    if start.date() == end.date():
        return f"{start:%a %b %-d, %H:%M}–{end:%H:%M}"
    return f"{start:%a %b %-d %H:%M} – {end:%a %b %-d %H:%M}"


def crew_snapshot_diff(told: dict[str, str], now: dict[str, str]) -> dict[str, list[str]]:
    """{fact: [what they were told, what is true now]} for each relevant fact that changed."""
    diff: dict[str, list[str]] = {}
    if (told.get("start"), told.get("end")) != (now["start"], now["end"]):
        diff["time"] = [describe_time(told) if told.get("start") else "", describe_time(now)]
    for fact in ("boat", "meeting_point", "role", "pay"):
        if told.get(fact) != now[fact]:
            diff[fact] = [told.get(fact, ""), now[fact]]
    return diff


def _last_told(booking: Booking) -> dict[int, Notification]:
    """Each member's most recent telling notification about this booking (not failed ones)."""
    last: dict[int, Notification] = {}
    rows = (
        Notification.objects.filter(booking=booking, kind__in=TELLING_KINDS)
        .exclude(status=Status.FAILED)
        .order_by("booking_version", "id")
    )
    for note in rows:
        last[note.member_id] = note
    return last


# --- Deciding and recording ------------------------------------------------------------------


def _channel_for(member: CrewMember) -> str:
    if member.notify_by == CrewMember.Channel.SMS and member.phone:
        return CrewMember.Channel.SMS
    if member.email_flagged and member.phone:
        return CrewMember.Channel.SMS  # the address bounced: text them instead
    return CrewMember.Channel.EMAIL


def _record(
    booking: Booking, member: CrewMember, kind: str, changes: dict[str, Any]
) -> Notification | None:
    """Insert the queued row; None when this (member, version, kind) was already recorded."""
    try:
        with transaction.atomic():
            return Notification.objects.create(
                booking=booking,
                member=member,
                booking_version=booking.version,
                kind=kind,
                channel=_channel_for(member),
                changes=changes,
            )
    except IntegrityError:
        return None


def booking_crew_plan(booking: Booking) -> list[Notification]:
    """Record (queued) every telling notification this version of the booking calls for.

    Idempotent: a second call for the same version records nothing. Returns the new rows.
    Older versions' rows still queued are superseded (failed with a reason), because the
    new rows describe the charter as it is now.
    """
    Notification.objects.filter(
        booking=booking, status=Status.QUEUED, booking_version__lt=booking.version
    ).update(status=Status.FAILED, error=f"Superseded by version {booking.version}.")
    last = _last_told(booking)
    assignments = list(booking.assignments.select_related("member__user"))
    assigned = {a.member_id for a in assignments}
    created: list[Notification] = []

    for assignment in assignments:
        member = assignment.member
        told = last.get(member.pk)
        told_active = told is not None and told.kind in (Kind.NEW, Kind.CHANGED)
        if assignment.response == CrewAssignment.Response.DECLINED:
            continue
        now = crew_snapshot(booking, assignment)
        if booking.is_live:
            if not told_active:
                note = _record(booking, member, Kind.NEW, {"told": now})
            else:
                diff = crew_snapshot_diff(told.changes.get("told", {}), now)
                if not diff:
                    continue
                note = _record(booking, member, Kind.CHANGED, {"told": now, "diff": diff})
        elif told_active:
            note = _record(booking, member, Kind.CANCELLED, {"told": now})
        else:
            continue
        if note is not None:
            created.append(note)

    for member_id, told in last.items():
        if member_id in assigned or told.kind not in (Kind.NEW, Kind.CHANGED):
            continue
        member = CrewMember.objects.get(pk=member_id)
        kind = Kind.REMOVED if booking.is_live else Kind.CANCELLED
        note = _record(booking, member, kind, {"told": told.changes.get("told", {})})
        if note is not None:
            created.append(note)
    return created


# --- Sending ---------------------------------------------------------------------------------


def _subject(note: Notification, booking: Booking, told: dict[str, str]) -> str:
    when = describe_time(told) if told.get("start") else ""
    titles = {
        Kind.NEW: "New charter",
        Kind.CHANGED: "Charter changed",
        Kind.REMOVED: "You are off this charter",
        Kind.CANCELLED: "Charter cancelled"
        if booking.status == Booking.Status.CANCELLED
        else "Charter no longer confirmed",
        Kind.REMINDER: "Tomorrow",
        Kind.RESPONSE_REMINDER: "Please answer",
    }
    return f"{titles[note.kind]}: {told.get('boat', booking.boat.name)}, {when}".rstrip(", ")


def notification_context(note: Notification, *, with_token: bool = True) -> dict[str, Any]:
    """Everything the email and SMS templates show; a link only where the member is still on."""
    booking = note.booking
    told = note.changes.get("told") or {}
    assignment = (
        CrewAssignment.objects.select_related("member__user", "booking")
        .filter(booking=booking, member=note.member)
        .first()
    )
    with_link = note.kind not in (Kind.REMOVED, Kind.CANCELLED) and assignment is not None
    diff = note.changes.get("diff") or {}
    return {
        "note": note,
        "kind": note.kind,
        "booking": booking,
        "member": note.member,
        "assignment": assignment,
        "told": told,
        "when": describe_time(told) if told.get("start") else "",
        "changes": [
            {"label": FACT_LABELS[fact], "old": diff[fact][0], "new": diff[fact][1]}
            for fact in FACTS
            if fact in diff
        ],
        "subject": _subject(note, booking, told),
        "link": (
            (crew_magic_link(assignment) if with_token else "(personal link)") if with_link else ""
        ),
        "link_expires": crew_link_expires_at(booking) if with_link else None,
        "currency": booking.currency,
    }


def notification_preview(note: Notification) -> str:
    """The message's text as the member got it, with the personal link masked (staff view).

    Staff must not hold a member's live token, so no token is minted here. Reads only.
    """
    context = notification_context(note, with_token=False)
    template = (
        "crew/sms/notification.txt" if note.channel == "sms" else "crew/email/notification.txt"
    )
    return f"{context['subject']}\n\n{render_to_string(template, context).strip()}"


def _send_email(note: Notification, context: dict[str, Any]) -> str:
    text = render_to_string("crew/email/notification.txt", context)
    html = render_to_string("crew/email/notification.html", context)
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ")
    message_id = make_msgid(domain=domain)
    message = EmailMultiAlternatives(
        context["subject"],
        text,
        to=[note.member.email],
        headers={"Message-ID": message_id},
    )
    message.attach_alternative(html, "text/html")
    # anymail: tags and metadata travel with the message and come back in tracking events.
    message.tags = ["crew", note.kind]
    message.metadata = {"notification_id": str(note.pk), "booking_id": str(note.booking_id)}
    message.send()
    status = getattr(message, "anymail_status", None)
    return (status.message_id if status is not None else None) or message_id


def _send_sms(note: Notification, context: dict[str, Any]) -> str:
    text = render_to_string("crew/sms/notification.txt", context).strip()
    return get_sms_sender().send(phone=note.member.phone, text=text)


def _publish_topic(note: Notification, context: dict[str, Any]) -> None:
    """Tell existing topic subscribers (the seed's scc-crew-notifications); never the token."""
    publisher = get_topic_publisher()
    if publisher is None:
        return
    try:
        publisher.publish(
            subject=context["subject"],
            message={
                "kind": note.kind,
                "event_id": str(note.booking_id),
                "crew_id": str(note.member_id),
                "booking_version": note.booking_version,
                "channel": note.channel,
                "charter": context["told"],
                "changes": note.changes.get("diff", {}),
                "notification_id": note.pk,
            },
        )
    except Exception:  # subscribers are optional; the member was told already
        log.warning("topic publish failed for notification %s", note.pk, exc_info=True)


def notification_deliver(note_id: int) -> str:
    """Send one queued notification once: ``sent``, ``failed``, or ``skipped`` (not queued).

    The row is locked while sending so that two workers never both send it. A transient
    provider error leaves it queued (with the error shown) and raises ``TransientError``;
    a permanent one marks it failed. Sets the assignment's ``notified_at`` (telling kinds)
    or ``reminded_at`` (response reminder) on success.
    """
    with transaction.atomic():
        note = (
            Notification.objects.select_for_update(skip_locked=True)
            .select_related("booking__boat", "member__user")
            .filter(pk=note_id, status=Status.QUEUED)
            .first()
        )
        if note is None:
            return "skipped"
        context = notification_context(note)
        try:
            if note.channel == CrewMember.Channel.SMS:
                provider_id = _send_sms(note, context)
            elif note.member.email_flagged:
                raise _Refused(
                    f"Address flagged ({note.member.email_flagged}); fix it or add a phone."
                )
            else:
                provider_id = _send_email(note, context)
        except _Refused as exc:
            _mark(note, Status.FAILED, error=str(exc))
            return "failed"
        except Exception as exc:
            error = classify(exc)
            if not isinstance(error, TransientError):
                _mark(note, Status.FAILED, error=str(error))
                return "failed"
            transient = error
        else:
            transient = None
            now = timezone.now()
            _mark(note, Status.SENT, provider_message_id=provider_id, sent_at=now)
            stamp = {"reminded_at": now} if note.kind == Kind.RESPONSE_REMINDER else {}
            if note.kind in (Kind.NEW, Kind.CHANGED):
                stamp = {"notified_at": now}
            if stamp:
                CrewAssignment.objects.filter(booking=note.booking, member=note.member).update(
                    **stamp
                )
    if transient is not None:
        # Outside the block: the row stays queued, the error is shown, the caller retries.
        Notification.objects.filter(pk=note_id).update(error=str(transient)[:300])
        raise transient
    _publish_topic(note, context)
    return "sent"


class _Refused(Exception):
    pass


def _mark(note: Notification, status: str, **fields: Any) -> None:
    fields.setdefault("error", "")
    Notification.objects.filter(pk=note.pk).update(status=status, **fields)
    note.status = status


def _deliver_all(notes: list[int], result: NotifyResult) -> NotifyResult:
    for note_id in notes:
        try:
            outcome = notification_deliver(note_id)
        except TransientError as exc:
            result.queued += 1
            result.errors.append(str(exc))
            continue
        if outcome == "sent":
            result.sent += 1
        elif outcome == "failed":
            result.failed += 1
    return result


def booking_crew_notify(booking: Booking) -> NotifyResult:
    """Tell every member what changed for them in this version of the booking, once.

    Records the rows this version calls for, then sends every row of this version that is
    still queued (including ones a crashed or retried run left behind). Idempotent.
    Raises nothing: transient failures are counted in ``queued`` (the caller retries).
    """
    result = NotifyResult()
    for note in booking_crew_plan(booking):
        result.recorded[note.kind] = result.recorded.get(note.kind, 0) + 1
    pending = list(
        Notification.objects.filter(
            booking=booking, booking_version=booking.version, status=Status.QUEUED
        )
        .order_by("id")
        .values_list("pk", flat=True)
    )
    return _deliver_all(pending, result)


def notification_retry(note: Notification, *, actor: Any = None) -> str:
    """Send a failed notification again (after staff fixed the address or the phone).

    Only a failed row of the booking's current version is retried: an older one describes a
    charter that has changed since, and the next fan-out tells the member the current facts.
    The channel is chosen again. Returns the delivery outcome, or ``stale``/``not_failed``.
    """
    from charterops.audit import audit_log

    note = Notification.objects.select_related("booking", "member").get(pk=note.pk)
    if note.status != Status.FAILED:
        return "not_failed"
    if note.booking_version != note.booking.version:
        return "stale"
    with transaction.atomic():
        Notification.objects.filter(pk=note.pk, status=Status.FAILED).update(
            status=Status.QUEUED, error="", channel=_channel_for(note.member)
        )
        audit_log("crew.notification.retried", note, actor=actor, booking=note.booking)
    try:
        return notification_deliver(note.pk)
    except TransientError:
        return "queued"


def crew_assignment_notify(assignment: CrewAssignment, *, kind: str) -> Notification | None:
    """Record and send a reminder (``reminder`` or ``response_reminder``) to one member.

    Once per (booking version, kind); returns the row, or None when already recorded.
    Transient send errors propagate (the row stays queued for the next run).
    """
    booking = assignment.booking
    note = _record(booking, assignment.member, kind, {"told": crew_snapshot(booking, assignment)})
    if note is None:
        existing = Notification.objects.get(
            booking=booking,
            member=assignment.member,
            booking_version=booking.version,
            kind=kind,
        )
        if existing.status == Status.QUEUED:
            notification_deliver(existing.pk)
        return None
    notification_deliver(note.pk)
    note.refresh_from_db()
    return note
