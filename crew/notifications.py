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
(booking, member, booking_version, kind, round) makes a second run, a redelivered task or a
concurrent worker record nothing new. Sending goes through the outbox
(``charterops.outbox.outbox_deliver``): claim the row alone with one conditional UPDATE,
send outside any transaction, record ``sent``/``retrying``/``failed``/``superseded`` under
the claim. A queued row of an older version is ``superseded`` once a newer version is
planned, and a row whose member already has a newer message is superseded when it comes up.
The crew target is done only when every message of the booking is settled. The gap left: a
crash between the provider accepting a message and the commit of ``sent`` sends that
message again once its lease expires (at-least-once), never zero times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from bookings.models import Booking
from charterops.fanout.targets import PermanentError
from charterops.integrations.sms import get_sms_sender, get_topic_publisher
from charterops.outbox import (
    SETTLED,
    UNSETTLED,
    Superseded,
    outbox_deliver,
    outbox_email_send,
    outbox_sweep,
    told_diff,
)

from .magic_links import crew_link_expires_at, crew_magic_link
from .models import CrewAssignment, CrewMember, Notification

__all__ = [
    "booking_crew_notify",
    "crew_assignment_notify",
    "crew_new_links_send",
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
    """What one run did: rows recorded by kind; sent, failed, superseded by this run; rows
    still unsettled afterwards (``pending``: retrying, waiting, or held by another worker)."""

    recorded: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    failed: int = 0
    superseded: int = 0
    pending: int = 0
    retry_in: float | None = None
    errors: list[str] = field(default_factory=list)
    failed_members: list[str] = field(default_factory=list)

    @property
    def queued(self) -> int:
        """Rows not sent yet (kept for callers of the first version)."""
        return self.pending

    def as_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "recorded": self.recorded,
            "sent": self.sent,
            "failed": self.failed,
            "superseded": self.superseded,
            "pending": self.pending,
        }
        if self.failed_members:
            detail["failed_members"] = self.failed_members
        return detail


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
    return told_diff(
        told, now, facts=("boat", "meeting_point", "role", "pay"), describe_time=describe_time
    )


def _last_told(booking: Booking) -> dict[int, Notification]:
    """Each member's most recent telling notification about this booking that was sent or may
    still be (not failed, not superseded)."""
    last: dict[int, Notification] = {}
    rows = (
        Notification.objects.filter(booking=booking, kind__in=TELLING_KINDS)
        .exclude(status__in=(Status.FAILED, Status.SUPERSEDED))
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
    booking: Booking, member: CrewMember, kind: str, changes: dict[str, Any], *, round: int = 0
) -> Notification | None:
    """Insert the queued row; None when this (member, version, kind) was already recorded."""
    try:
        with transaction.atomic():
            return Notification.objects.create(
                booking=booking,
                member=member,
                booking_version=booking.version,
                kind=kind,
                round=round,
                channel=_channel_for(member),
                changes=changes,
            )
    except IntegrityError:
        return None


def booking_crew_plan(booking: Booking) -> list[Notification]:
    """Record (queued) every telling notification this version of the booking calls for.

    Idempotent: a second call for the same version records nothing. Returns the new rows.
    Older versions' telling rows not yet in flight (queued, retrying) are ``superseded``:
    the plan below tells each member the charter as it is now, from what they were really
    told. Rows in flight finish; if they are sent, the plan already counted them as told.
    """
    Notification.objects.filter(
        booking=booking,
        kind__in=TELLING_KINDS,
        status__in=(Status.QUEUED, Status.RETRYING),
        booking_version__lt=booking.version,
    ).update(status=Status.SUPERSEDED, error=f"Superseded by version {booking.version}.")
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
        Kind.NEW_LINK: "Your new link",
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
    return outbox_email_send(
        note,
        subject=context["subject"],
        text=render_to_string("crew/email/notification.txt", context),
        html=render_to_string("crew/email/notification.html", context),
        to=note.member.email,
        tags=["crew", note.kind],
        metadata={"notification_id": str(note.pk), "booking_id": str(note.booking_id)},
    )


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


def _deliveries():
    return Notification.objects.select_related("booking__boat", "member__user")


def _newer_message(note: Notification) -> Notification | None:
    """The member's newer message of the same sort on this booking, if one replaced ``note``."""
    kinds = TELLING_KINDS if note.kind in TELLING_KINDS else (note.kind,)
    return (
        Notification.objects.filter(
            booking_id=note.booking_id,
            member_id=note.member_id,
            kind__in=kinds,
            booking_version__gt=note.booking_version,
        )
        .exclude(status__in=(Status.FAILED, Status.SUPERSEDED))
        .only("booking_version")
        .first()
    )


def _crew_send(note: Notification) -> str:
    """The outbox sender of a crew notification: SMS or email; returns the provider id."""
    if note.kind != Kind.NEW_LINK:
        newer = _newer_message(note)
        if newer is not None:
            raise Superseded(f"Superseded by version {newer.booking_version}.")
    context = notification_context(note)
    if note.channel == CrewMember.Channel.SMS:
        provider_id = _send_sms(note, context)
    elif note.member.email_flagged:
        raise PermanentError(
            f"Address flagged ({note.member.email_flagged}); fix it or add a phone."
        )
    else:
        provider_id = _send_email(note, context)
    note._context = context  # for the topic copy, after the outcome is recorded
    return provider_id


def _crew_sent(note: Notification) -> None:
    now = note.sent_at or timezone.now()
    stamp: dict[str, Any] = {}
    if note.kind == Kind.RESPONSE_REMINDER:
        stamp = {"reminded_at": now}
    elif note.kind in (Kind.NEW, Kind.CHANGED):
        stamp = {"notified_at": now}
    if stamp:
        CrewAssignment.objects.filter(booking_id=note.booking_id, member_id=note.member_id).update(
            **stamp
        )
    _publish_topic(note, note._context)


def _crew_failed(note: Notification) -> None:
    from .staff_notices import staff_notice_notification_failed

    staff_notice_notification_failed(note)


def notification_deliver(note_id: int) -> str:
    """Send one crew notification through the outbox, at most once per claim.

    Returns the outbox outcome: ``sent``, ``superseded``, ``failed``, ``retrying``,
    ``busy``, ``waiting``, ``settled`` or ``lost`` (see ``charterops.outbox``). Never raises
    for a provider error: a transient one leaves the row ``retrying`` with its next attempt
    set, a permanent one fails it with the reason and tells staff. Sets the assignment's
    ``notified_at`` (new, changed) or ``reminded_at`` (response reminder) once sent.
    Must be called outside any transaction (the claim commits before the provider call).
    """
    return outbox_deliver(
        _deliveries(), note_id, send=_crew_send, on_sent=_crew_sent, on_failed=_crew_failed
    )


def booking_crew_unsettled(booking: Booking):
    """The booking's crew messages not settled yet (queued, sending, retrying), any version."""
    return Notification.objects.filter(
        booking=booking, booking_version__lte=booking.version, status__in=UNSETTLED
    )


def booking_crew_notify(booking: Booking) -> NotifyResult:
    """Tell every member what changed for them in this version of the booking, once.

    Records the rows this version calls for, then delivers every unsettled row of the booking
    (including ones a crashed or retried run left behind, and older versions' rows still in
    flight). Idempotent. Raises nothing: what is not settled afterwards is counted in
    ``pending`` with ``retry_in``, the seconds until the earliest can be tried again; the
    caller (the crew target) retries.
    """
    result = NotifyResult()
    for note in booking_crew_plan(booking):
        result.recorded[note.kind] = result.recorded.get(note.kind, 0) + 1
    for note_id in booking_crew_unsettled(booking).order_by("id").values_list("pk", flat=True):
        outcome = notification_deliver(note_id)
        if outcome in ("sent", "failed", "superseded"):
            setattr(result, outcome, getattr(result, outcome) + 1)
    now = timezone.now()
    for note in booking_crew_unsettled(booking).select_related("member").order_by("id"):
        result.pending += 1
        if note.status == Status.SENDING:
            wait, why = 2.0, f"{note.member}: being sent"
        else:
            due = note.next_attempt_at or now
            wait, why = max((due - now).total_seconds(), 0.0), f"{note.member}: {note.error}"
        result.retry_in = wait if result.retry_in is None else min(result.retry_in, wait)
        result.errors.append(why.rstrip(": "))
    failed = Notification.objects.filter(
        booking=booking, booking_version=booking.version, status=Status.FAILED
    ).select_related("member")
    result.failed_members = [f"{n.member}: {n.error}" for n in failed.order_by("id")]
    return result


def notification_retry(note: Notification, *, actor: Any = None) -> str:
    """Send a failed notification again (after staff fixed the address or the phone).

    Only a failed row of the booking's current version is retried: an older one describes a
    charter that has changed since, and the next fan-out tells the member the current facts.
    The channel is chosen again and the attempts start over. Returns the delivery outcome,
    or ``stale``/``not_failed``.
    """
    from charterops.audit import audit_log

    note = Notification.objects.select_related("booking", "member").get(pk=note.pk)
    if note.status != Status.FAILED:
        return "not_failed"
    if note.booking_version != note.booking.version:
        return "stale"
    with transaction.atomic():
        Notification.objects.filter(pk=note.pk, status=Status.FAILED).update(
            status=Status.QUEUED,
            error="",
            attempts=0,
            next_attempt_at=None,
            channel=_channel_for(note.member),
        )
        audit_log("crew.notification.retried", note, actor=actor, booking=note.booking)
    return notification_deliver(note.pk)


def crew_assignment_notify(assignment: CrewAssignment, *, kind: str) -> Notification | None:
    """Record and send a reminder (``reminder`` or ``response_reminder``) to one member.

    Once per (booking version, kind); returns the new row, or None when already recorded
    (an earlier row still unsettled is delivered again). A transient send error leaves the
    row retrying; the outbox sweep sends it when due.
    """
    booking = assignment.booking
    note = _record(booking, assignment.member, kind, {"told": crew_snapshot(booking, assignment)})
    if note is None:
        existing = Notification.objects.get(
            booking=booking, member=assignment.member, booking_version=booking.version, kind=kind
        )
        if existing.status not in SETTLED:
            notification_deliver(existing.pk)
        return None
    notification_deliver(note.pk)
    note.refresh_from_db()
    return note


def crew_new_links_send(assignments: list[CrewAssignment]) -> list[Notification]:
    """Record one "your new link" message per assignment, for its current link generation.

    Called right after a revocation commits: each affected member still on a live charter
    whose links have not expired gets one message with a fresh link (once per revocation:
    the generation is the row's ``round``). Sent through the outbox after commit. Returns
    the rows recorded; idempotent per generation.
    """
    now = timezone.now()
    created: list[Notification] = []
    for assignment in assignments:
        booking = assignment.booking
        if (
            not booking.is_live
            or crew_link_expires_at(booking) <= now
            or assignment.response == CrewAssignment.Response.DECLINED
        ):
            continue
        note = _record(
            booking,
            assignment.member,
            Kind.NEW_LINK,
            {"told": crew_snapshot(booking, assignment)},
            round=assignment.link_generation,
        )
        if note is not None:
            created.append(note)
    if created:
        ids = [n.pk for n in created]
        transaction.on_commit(lambda: notifications_enqueue(ids))
    return created


def notifications_enqueue(note_ids: list[int]) -> None:
    """Wake a worker for each row (after commit). A lost message only delays: the sweep sends."""
    from .tasks import notification_deliver_task

    for note_id in note_ids:
        notification_deliver_task.apply_async((note_id,), **_task_options())


def _task_options() -> dict[str, Any]:
    if settings.CHARTEROPS_FANOUT_QUEUE:
        return {"queue": settings.CHARTEROPS_FANOUT_QUEUE}
    return {}


def notifications_sweep(*, limit: int = 200) -> dict[str, int]:
    """Deliver every crew notification that is due (``outbox_sweep``). What beat runs."""
    return outbox_sweep(Notification.objects.all(), notification_deliver, limit=limit)


# --- What each member was last told (the admin's view) ---------------------------------------


@dataclass
class LastTold:
    """One (booking, member) pair: the last message that reached them, and the newest one if
    it has not (yet): retrying, in flight, or failed with its reason."""

    booking: Booking
    member: CrewMember
    told: Notification | None = None
    newest: Notification | None = None

    @property
    def up_to_date(self) -> bool:
        return self.newest is None or self.newest == self.told


def crew_last_told(
    *, booking: Booking | None = None, member: CrewMember | None = None, limit: int = 50
) -> list[LastTold]:
    """Per (booking, member), what the member was last told and when; reads only.

    For a booking, every member who ever had a message about it; for a member, their most
    ``limit`` latest charters (newest first). One query.
    """
    rows = Notification.objects.exclude(status=Status.SUPERSEDED).select_related(
        "booking__boat", "member"
    )
    rows = rows.filter(booking=booking) if booking is not None else rows.filter(member=member)
    pairs: dict[tuple[int, int], LastTold] = {}
    for note in rows.order_by("booking_version", "created_at", "id"):
        pair = pairs.setdefault(
            (note.booking_id, note.member_id), LastTold(booking=note.booking, member=note.member)
        )
        pair.newest = note
        if note.status in (Status.SENT, Status.BOUNCED):
            pair.told = note
    result = list(pairs.values())
    if booking is not None:
        return sorted(result, key=lambda p: p.member.name)
    return sorted(result, key=lambda p: p.booking.start, reverse=True)[:limit]
