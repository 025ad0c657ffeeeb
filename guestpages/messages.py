"""Telling the guest: confirmation, change and cancellation notices, the day-before reminder.

The crew notifications' ledger semantics (``crew/notifications.py``), for one recipient:
one ``GuestMessage`` row per (booking, booking version, kind), written ``queued`` before
anything is sent; the unique constraint makes a redelivered task, a second fan-out run or a
concurrent worker record nothing new. What the guest is told is decided by comparing the
charter as it is now (time, boat, meeting point) with the snapshot in the last message that
reached them (or still may): never told → ``confirmation``; told and a fact differs →
``changed`` with the diff; told and the booking cancelled → ``cancelled``. Sending goes
through the outbox (``charterops.outbox.outbox_deliver``): claimed alone, sent outside any
transaction, recorded under the claim. The ``guest_notify`` target is done only when every
message of the booking is settled.

Email goes through Django's mailer (anymail's SES backend in production, the file outbox in
the demo); a text goes through SNS (``charterops.integrations.sms``) when the guest has a
mobile number and no email, or prefers texts. A marketplace that messages its guests itself
(``MarketplaceRules.relays_guest_messages``) makes its bookings start with messages off.
Staff switch messages per booking (``GuestMessageSettings``, the override either way): off
supersedes queued messages and records nothing new.
Times are shown in the installation's time zone (``TIME_ZONE``, the boats' harbour).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from bookings.marketplace.rules import (
    source_label,
    source_relays_guest_messages,
    sources_relaying_guest_messages,
)
from bookings.models import Booking
from bookings.people import booking_captain
from charterops.audit import audit_log
from charterops.fanout.targets import SyncResult, TransientError
from charterops.integrations.sms import get_sms_sender
from charterops.models import AuditEvent
from charterops.outbox import (
    UNSETTLED,
    Superseded,
    outbox_deliver,
    outbox_email_send,
    outbox_sweep,
    told_diff,
)

from .models import GuestMessage, GuestMessageSettings, GuestPage

__all__ = [
    "GuestNotifyResult",
    "GuestNotifyTarget",
    "booking_guest_notify",
    "booking_guest_plan",
    "guest_message_deliver",
    "guest_message_preview",
    "guest_message_settings",
    "guest_messages_off_reason",
    "guest_messages_switch",
    "guest_messages_sweep",
    "guest_reminders_send",
]

log = logging.getLogger(__name__)
Kind = GuestMessage.Kind
Channel = GuestMessage.Channel
Status = GuestMessage.Status

#: kinds that tell the guest where the charter stands (the reminder only reminds).
TELLING_KINDS = (Kind.CONFIRMATION, Kind.CHANGED, Kind.CANCELLED)
FACTS = ("time", "meeting_point", "boat")
FACT_LABELS = {"time": "Time", "meeting_point": "Meeting point", "boat": "Boat"}
#: how long before departure the guest should be on the dock.
ARRIVE_EARLY = timedelta(minutes=15)


# --- What the guest knows ----------------------------------------------------------------


def guest_snapshot(booking: Booking) -> dict[str, str]:
    """The facts of the charter the guest is told, as JSON-safe strings."""
    return {
        "start": booking.start.isoformat(),
        "end": booking.end.isoformat(),
        "boat": booking.boat.name,
        "meeting_point": booking.meeting_point or booking.boat.home_marina,
    }


def describe_time(snapshot: dict[str, str]) -> str:
    """'Saturday, December 5, 10:00 AM – 2:00 PM' in the boats' time zone."""
    start = timezone.localtime(parse_datetime(snapshot["start"]))
    end = timezone.localtime(parse_datetime(snapshot["end"]))
    if start.date() == end.date():
        return f"{start:%A, %B %-d, %-I:%M %p} – {end:%-I:%M %p}"
    return f"{start:%A, %B %-d, %-I:%M %p} – {end:%A, %B %-d, %-I:%M %p}"


def guest_snapshot_diff(told: dict[str, str], now: dict[str, str]) -> dict[str, list[str]]:
    """{fact: [what the guest was told, what is true now]} for each fact that changed."""
    return told_diff(told, now, facts=("meeting_point", "boat"), describe_time=describe_time)


def guest_messages_default(booking: Booking) -> bool:
    """Whether a booking nobody switched starts with messages on: off when its marketplace
    messages its guests itself (``MarketplaceRules.relays_guest_messages``)."""
    return not source_relays_guest_messages(booking.source)


def guest_message_settings(booking: Booking) -> GuestMessageSettings:
    """The booking's settings; when it has none, an unsaved default row (email first, messages
    on unless its marketplace messages its guests itself).

    A saved row's ``enabled`` is always the effective value: the row is created with the
    source's default (``guest_messages_switch``), so a later change of the source's rule
    leaves bookings staff already switched as they are.
    """
    found = GuestMessageSettings.objects.filter(booking=booking).first()
    return found or GuestMessageSettings(booking=booking, enabled=guest_messages_default(booking))


def guest_messages_off_reason(booking: Booking, prefs: GuestMessageSettings) -> str:
    """Why the guest is not messaged, in a sentence for staff; "" when messages are on.

    "Boatsetter messages its guests itself" when the source's default is why, else who
    switched them off and when (from the audit trail). Reads only.
    """
    if prefs.enabled:
        return ""
    switched = None
    if prefs.pk is not None:
        switched = (
            AuditEvent.objects.filter(booking=booking, action="guestpages.guest_messages.off")
            .order_by("-id")
            .only("actor_label", "created_at")
            .first()
        )
    if switched is not None:
        when = timezone.localtime(switched.created_at)
        return f"Switched off by {switched.actor_label} on {when:%Y-%m-%d %H:%M}."
    if not guest_messages_default(booking):
        return f"{source_label(booking.source)} messages its guests itself."
    return "Switched off."


def guest_contact(booking: Booking, prefs: GuestMessageSettings) -> tuple[str, str]:
    """(channel, recipient): a text when the guest prefers it or has no email; ("", "") when
    the booking has neither an email address nor a mobile number."""
    phone = str(booking.guest_phone or "")
    if phone and (prefs.prefer_sms or not booking.guest_email):
        return Channel.SMS, phone
    if booking.guest_email:
        return Channel.EMAIL, booking.guest_email
    return "", ""


def _last_told(booking: Booking) -> GuestMessage | None:
    return (
        GuestMessage.objects.filter(booking=booking, kind__in=TELLING_KINDS)
        .exclude(status__in=(Status.FAILED, Status.SUPERSEDED))
        .order_by("-booking_version", "-id")
        .first()
    )


# --- Deciding and recording --------------------------------------------------------------


def _record(
    booking: Booking,
    kind: str,
    changes: dict[str, Any],
    *,
    channel: str,
    recipient: str,
    round: int = 0,
) -> GuestMessage | None:
    """Insert the queued row; None when this (booking, version, kind, round) was recorded."""
    try:
        with transaction.atomic():
            return GuestMessage.objects.create(
                booking=booking,
                booking_version=booking.version,
                kind=kind,
                round=round,
                channel=channel,
                recipient=recipient,
                changes=changes,
            )
    except IntegrityError:
        return None


def _supersede_unsent(rows: QuerySet[GuestMessage], reason: str) -> int:
    return rows.filter(status__in=(Status.QUEUED, Status.RETRYING)).update(
        status=Status.SUPERSEDED, error=reason[:300]
    )


def booking_guest_plan(booking: Booking, *, now: datetime | None = None) -> list[GuestMessage]:
    """Record (queued) the message this version of the booking calls for, if any.

    Idempotent: a second call for the same version records nothing. Older versions' telling
    messages not in flight yet are superseded (the guest is told the charter as it is now).
    Nothing is recorded when staff switched messages off, when the guest has no address,
    or for a charter already over (history imported late is not news to the guest).
    """
    now = now or timezone.now()
    telling = GuestMessage.objects.filter(booking=booking, kind__in=TELLING_KINDS)
    _supersede_unsent(
        telling.filter(booking_version__lt=booking.version),
        f"Superseded by version {booking.version}.",
    )
    prefs = guest_message_settings(booking)
    if not prefs.enabled:
        _supersede_unsent(GuestMessage.objects.filter(booking=booking), "Guest messages are off.")
        return []
    channel, recipient = guest_contact(booking, prefs)
    if not recipient:
        return []
    last = _last_told(booking)
    told_active = last is not None and last.kind in (Kind.CONFIRMATION, Kind.CHANGED)
    snapshot = guest_snapshot(booking)
    if booking.is_live:
        if booking.end <= now:
            return []
        if not told_active:
            kind, changes = Kind.CONFIRMATION, {"told": snapshot}
        else:
            diff = guest_snapshot_diff(last.changes.get("told", {}), snapshot)
            if not diff:
                return []
            kind, changes = Kind.CHANGED, {"told": snapshot, "diff": diff}
    elif told_active and booking.is_ended:
        kind, changes = Kind.CANCELLED, {"told": last.changes.get("told", snapshot)}
    else:
        return []
    message = _record(
        booking, kind, changes, channel=channel, recipient=recipient, round=prefs.round
    )
    return [message] if message is not None else []


# --- Sending -----------------------------------------------------------------------------


def _captain_name(booking: Booking) -> str:
    # Crew know who the captain is; they answer through the hub (bookings.people).
    captain = booking_captain(booking)
    return captain.name if captain is not None else ""


def guest_page_link(booking: Booking) -> str:
    """The absolute link of the booking's guest page (made now if the page is not yet)."""
    from .publishing import guest_page_public_url

    page, _ = GuestPage.objects.get_or_create(booking=booking)
    return guest_page_public_url(page)


def _subject(message: GuestMessage, booking: Booking, when: str) -> str:
    titles = {
        Kind.CONFIRMATION: "You're booked",
        Kind.CHANGED: "Your charter has changed",
        Kind.CANCELLED: "Your charter is cancelled",
        Kind.REMINDER: "See you tomorrow",
    }
    return f"{titles[message.kind]}: {booking.boat.name}, {when}"


def guest_message_context(message: GuestMessage) -> dict[str, Any]:
    """Everything the email and text templates show; reads the booking as it is now."""
    from .publishing import WHAT_TO_BRING

    booking = message.booking
    told = message.changes.get("told") or guest_snapshot(booking)
    diff = message.changes.get("diff") or {}
    when = describe_time(told)
    live = message.kind != Kind.CANCELLED
    start = timezone.localtime(parse_datetime(told["start"]))
    context = {
        "message": message,
        "kind": message.kind,
        "booking": booking,
        "guest_name": booking.guest_name,
        "reference": booking.reference,
        "told": told,
        "when": when,
        "place": told.get("meeting_point", ""),
        "boat": told.get("boat", booking.boat.name),
        "changes": [
            {"label": FACT_LABELS[fact], "old": diff[fact][0], "new": diff[fact][1]}
            for fact in FACTS
            if fact in diff
        ],
        "subject": _subject(message, booking, when),
        "link": guest_page_link(booking) if live else "",
        "arrive_by": f"{start - ARRIVE_EARLY:%-I:%M %p}",
        "captain": _captain_name(booking) if message.kind == Kind.REMINDER else "",
        "what_to_bring": WHAT_TO_BRING if message.kind == Kind.REMINDER else [],
    }
    return context


def guest_message_preview(message: GuestMessage) -> str:
    """The message's text as the guest got it (staff view on the booking page). Reads only."""
    context = guest_message_context(message)
    template = (
        "guestpages/sms/message.txt"
        if message.channel == Channel.SMS
        else "guestpages/email/message.txt"
    )
    return f"{context['subject']}\n\n{render_to_string(template, context).strip()}"


def _send_email(message: GuestMessage, context: dict[str, Any]) -> str:
    return outbox_email_send(
        message,
        subject=context["subject"],
        text=render_to_string("guestpages/email/message.txt", context),
        html=render_to_string("guestpages/email/message.html", context),
        to=message.recipient,
        tags=["guest", message.kind],
        metadata={"guest_message_id": str(message.pk), "booking_id": str(message.booking_id)},
    )


def _send_sms(message: GuestMessage, context: dict[str, Any]) -> str:
    text = render_to_string("guestpages/sms/message.txt", context).strip()
    return get_sms_sender().send(phone=message.recipient, text=text)


def _guest_send(message: GuestMessage) -> str:
    """The outbox sender of a guest message; raises ``Superseded`` when it is no longer news."""
    booking = message.booking
    if not guest_message_settings(booking).enabled:
        raise Superseded("Guest messages are off.")
    kinds = TELLING_KINDS if message.kind in TELLING_KINDS else (message.kind,)
    newer = (
        GuestMessage.objects.filter(
            booking_id=booking.pk, kind__in=kinds, booking_version__gt=message.booking_version
        )
        .exclude(status__in=(Status.FAILED, Status.SUPERSEDED))
        .only("booking_version")
        .first()
    )
    if newer is not None:
        raise Superseded(f"Superseded by version {newer.booking_version}.")
    if message.kind == Kind.REMINDER and (not booking.is_live or booking.start <= timezone.now()):
        raise Superseded("The charter is no longer ahead.")
    context = guest_message_context(message)
    if message.channel == Channel.SMS:
        return _send_sms(message, context)
    return _send_email(message, context)


def guest_message_deliver(message_id: int) -> str:
    """Send one guest message through the outbox, at most once per claim.

    Returns the outbox outcome (``sent``, ``superseded``, ``failed``, ``retrying``, ``busy``,
    ``waiting``, ``settled``, ``lost``). Never raises for a provider error: transient ones
    leave the row retrying with its next attempt set, permanent ones fail it with the reason.
    Must be called outside any transaction (the claim commits before the provider call).
    """
    return outbox_deliver(
        GuestMessage.objects.select_related("booking__boat"), message_id, send=_guest_send
    )


@dataclass
class GuestNotifyResult:
    """What one run did: rows recorded by kind; outcomes of this run; rows still unsettled."""

    recorded: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    failed: int = 0
    superseded: int = 0
    pending: int = 0
    retry_in: float | None = None
    errors: list[str] = field(default_factory=list)

    def as_detail(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded,
            "sent": self.sent,
            "failed": self.failed,
            "superseded": self.superseded,
            "pending": self.pending,
        }


def _unsettled(booking: Booking) -> QuerySet[GuestMessage]:
    return GuestMessage.objects.filter(
        booking=booking, booking_version__lte=booking.version, status__in=UNSETTLED
    )


def booking_guest_notify(booking: Booking) -> GuestNotifyResult:
    """Tell the guest what this version of the booking means for them, once.

    Records what this version calls for, then delivers every unsettled message of the
    booking (ones a crashed or retried run left behind included). Idempotent; raises
    nothing: what is still unsettled is counted in ``pending`` with ``retry_in``.
    """
    result = GuestNotifyResult()
    for message in booking_guest_plan(booking):
        result.recorded[message.kind] = result.recorded.get(message.kind, 0) + 1
    for message_id in _unsettled(booking).order_by("id").values_list("pk", flat=True):
        outcome = guest_message_deliver(message_id)
        if outcome in ("sent", "failed", "superseded"):
            setattr(result, outcome, getattr(result, outcome) + 1)
    now = timezone.now()
    for message in _unsettled(booking).order_by("id"):
        result.pending += 1
        if message.status == Status.SENDING:
            wait, why = 2.0, f"{message.get_kind_display()}: being sent"
        else:
            due = message.next_attempt_at or now
            wait = max((due - now).total_seconds(), 0.0)
            why = f"{message.get_kind_display()}: {message.error}"
        result.retry_in = wait if result.retry_in is None else min(result.retry_in, wait)
        result.errors.append(why.rstrip(": "))
    return result


class GuestNotifyTarget:
    """The fan-out target ``guest_notify``: the guest is told about the booking as it is now.

    Done only when every guest message of the booking is settled (sent, superseded, or
    failed for good). An unsettled one raises ``TransientError`` so the engine runs the
    target again. Idempotent: a re-run sends nothing already sent. Skipped when staff
    switched guest messages off; done with a warning when the guest has no address.
    """

    name = "guest_notify"
    label = "Guest messages"
    short = "Guest"

    def sync(self, booking: Booking, *, state: Any = None) -> SyncResult:
        result = booking_guest_notify(booking)
        if result.pending:
            raise TransientError(
                f"{result.pending} guest message(s) not sent yet: {result.errors[0]}"[:300],
                retry_after=result.retry_in,
            )
        prefs = guest_message_settings(booking)
        if not prefs.enabled:
            return SyncResult(skipped=True, detail=result.as_detail())
        warning = ""
        if not guest_contact(booking, prefs)[1]:
            warning = "The guest has no email address or mobile number: not told."
        failed = GuestMessage.objects.filter(
            booking=booking, booking_version=booking.version, status=Status.FAILED
        ).first()
        if failed is not None:
            warning = f"Guest not told (failed for good): {failed.error}"[:300]
        return SyncResult(
            external_ref=f"v{booking.version}", detail=result.as_detail(), warning=warning
        )


# --- Reminders, sweep, the staff switch --------------------------------------------------


def guest_reminders_send(*, now: datetime | None = None) -> int:
    """Remind each guest once, the day before (``CHARTEROPS_GUEST_REMINDER_HOURS``).

    What beat runs. Idempotent: a booking already reminded of its current departure time gets
    no other (a charter moved after its reminder is reminded again for the new time); a
    concurrent run records nothing new (unique row). Returns reminders recorded.
    """
    now = now or timezone.now()
    horizon = now + timedelta(hours=settings.CHARTEROPS_GUEST_REMINDER_HOURS)
    due = list(
        Booking.objects.filter(status__in=Booking.LIVE_STATUSES, start__gt=now, start__lte=horizon)
        .exclude(guest_message_settings__enabled=False)
        # Nobody switched these, and their marketplace messages its guests itself.
        .exclude(guest_message_settings__isnull=True, source__in=sources_relaying_guest_messages())
        .select_related("boat")
        .order_by("start")
    )
    reminded = {
        (booking_id, (changes or {}).get("told", {}).get("start"))
        for booking_id, changes in GuestMessage.objects.filter(
            booking__in=[b.pk for b in due], kind=Kind.REMINDER
        ).values_list("booking_id", "changes")
    }
    recorded = 0
    for booking in due:
        if (booking.pk, booking.start.isoformat()) in reminded:
            continue
        prefs = guest_message_settings(booking)
        channel, recipient = guest_contact(booking, prefs)
        if not recipient:
            continue
        message = _record(
            booking,
            Kind.REMINDER,
            {"told": guest_snapshot(booking)},
            channel=channel,
            recipient=recipient,
            round=prefs.round,
        )
        if message is None:
            continue
        recorded += 1
        guest_message_deliver(message.pk)
    return recorded


def guest_messages_sweep(*, limit: int = 200) -> dict[str, int]:
    """Deliver every guest message that is due (``outbox_sweep``). What beat runs."""
    return outbox_sweep(GuestMessage.objects.all(), guest_message_deliver, limit=limit)


def guest_messages_switch(
    booking: Booking, *, enabled: bool, prefer_sms: bool | None = None, actor: Any = None
) -> GuestMessageSettings:
    """Switch the guest's messages on or off for this booking (and choose texts over email).

    One transaction, one audit row per change. Switching off supersedes messages not sent
    yet; switching on asks the ``guest_notify`` target to run again (after commit), so the
    guest is told the charter as it is now. Idempotent: an unchanged setting writes nothing.
    """
    from charterops.fanout.engine import booking_fanout_request, enqueue
    from charterops.models import TargetState

    with transaction.atomic():
        prefs, _ = GuestMessageSettings.objects.select_for_update().get_or_create(
            booking=booking, defaults={"enabled": guest_messages_default(booking)}
        )
        new_sms = prefs.prefer_sms if prefer_sms is None else prefer_sms
        if (prefs.enabled, prefs.prefer_sms) == (enabled, new_sms):
            return prefs
        if enabled and not prefs.enabled:
            prefs.round += 1
        prefs.enabled, prefs.prefer_sms = enabled, new_sms
        prefs.save(update_fields=["enabled", "prefer_sms", "round", "updated_at"])
        audit_log(
            f"guestpages.guest_messages.{'on' if enabled else 'off'}",
            prefs,
            actor=actor,
            booking=booking,
            data={"enabled": enabled, "prefer_sms": new_sms},
        )
        if not enabled:
            _supersede_unsent(
                GuestMessage.objects.filter(booking=booking), "Guest messages are off."
            )
        elif booking.is_live:
            now = timezone.now()
            rows = TargetState.objects.filter(booking=booking, target="guest_notify")
            ids = list(rows.values_list("pk", flat=True))
            rows.update(status=TargetState.Status.PENDING, attempts=0, next_attempt_at=now)
            if ids:
                transaction.on_commit(lambda: enqueue(ids))
            else:
                booking_fanout_request(booking, targets=["guest_notify"])
    return prefs
