"""Proposals: what an email says becomes a change staff apply or dismiss, through the one upsert.

``inbound_email_process`` reads a stored message once: it finds the marketplace, checks the
sender (``authenticity``), parses the fields (``parsers``) and resolves the boat. A complete
parse is a *proposal*; anything less is *unparsed*, kept on the attention list with what was
found. A proposal is applied automatically only when its marketplace is listed in
``CHARTEROPS_MAIL_AUTO_APPLY`` and the message passes DKIM/DMARC for the marketplace's
domain; otherwise a person decides (``proposal_apply``, ``proposal_dismiss``).

Applying calls ``booking_upsert_from_event`` with the message's Message-ID as the event id
and its Date as ``occurred_at``: an email older than the last event applied to its booking
(webhook or email) is *stale* and changes nothing, and the fan-out follows what changed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from charterops.audit import SourceActor, audit_log
from charterops.phones import phone_normalize_or_keep

from ...models import Booking
from ..boats import boat_resolve
from ..schema import BoatRef, InvalidPayload, booking_payload_parse
from ..sources import source_check
from ..upsert import booking_fields, booking_upsert_from_event
from .authenticity import Verdicts, authentic_for
from .models import InboundEmail
from .parsers import (
    EVENT_STATUS,
    message_parse,
    parse_date,
    parse_duration,
    parse_int,
    parse_money,
    parse_time,
)
from .store import storable as _storable

Status = InboundEmail.Status
#: the model fields a proposal shows beside the booking, in the admin's order
DIFF_FIELDS = (
    "status", "boat", "start", "end", "meeting_point", "guest_name", "guest_email",
    "guest_phone", "party_size", "captain_required", "currency", "boat_price", "service_fee",
    "captain_fee", "owner_payout", "respond_by",
)  # fmt: skip


class ProposalClosed(Exception):
    """The message was decided already (applied, dismissed) or is not a proposal."""


@dataclass(frozen=True)
class Processed:
    email: InboundEmail
    outcome: str  # unparsed | proposed | applied | stale | (the status it already had)


def inbound_email_process(email: InboundEmail) -> Processed:
    """Parse a stored message into a proposal (or unparsed), and auto-apply where allowed.

    Idempotent: a message already read is returned as it is. Never raises for what a message
    contains: a message nothing can read is *unparsed* with the reason.
    """
    if email.status != Status.RECEIVED:
        return Processed(email, email.status)
    problems: list[str] = []
    parsed = None
    try:
        message = BytesParser(policy=policy.default).parsebytes(bytes(email.raw))
        parsed = message_parse(message, sender_domain=email.sender_domain)
    except Exception as exc:  # noqa: BLE001 (any message is stored; a broken one is unparsed)
        problems.append(_storable(f"could not read the message: {type(exc).__name__}: {exc}", 500))
    if parsed is None and not problems:
        problems.append("no marketplace parser recognises this message")
    fields: dict[str, Any] = {"problems": problems, "status": Status.UNPARSED}
    if parsed is not None:
        market = parsed.marketplace
        fields.update(
            marketplace=market.source,
            event=parsed.event,
            external_id=parsed.external_id[:64],
            found={k: _storable(v, 500) for k, v in parsed.found.items()},
            problems=[_storable(p, 500) for p in parsed.problems],
            occurred_at=parsed.original_sent_at or email.sent_at,
            authenticated=authentic_for(
                market.domains,
                sender_domain=email.sender_domain,
                verdicts=_verdicts(email),
            ),
        )
        damage = _damage(message)
        if damage:
            fields["problems"].append(f"the message is damaged or truncated: {damage}")
        if parsed.complete and not damage:
            try:
                source_check(market.source, field="marketplace")
                boat_resolve(BoatRef(name=parsed.booking["boat"]["name"]))
            except InvalidPayload as exc:
                fields["problems"] += [f"{k}: {' '.join(v)}" for k, v in exc.errors.items()]
            else:
                fields.update(status=Status.PROPOSED, payload=parsed.booking)
        if not fields["authenticated"]:
            fields["problems"].append(
                f"not authenticated for {', '.join(market.domains)}: from "
                f"{email.sender_domain or '?'}, dkim={email.dkim or '?'}, dmarc={email.dmarc or '?'}"
            )
    with transaction.atomic():
        updated = InboundEmail.objects.filter(pk=email.pk, status=Status.RECEIVED).update(**fields)
        if updated:
            audit_log(f"bookings.inbound_email.{fields['status']}", email, data={"via": email.via})
    email.refresh_from_db(fields=[*fields, "status"])  # not the raw bytes again
    if updated and _auto_apply_allowed(email):
        try:
            result = proposal_apply(email, actor=SourceActor(f"email:{email.marketplace}"))
        except (InvalidPayload, ProposalClosed):
            pass  # left as a proposal, for a person
        else:
            return Processed(result.email, result.outcome)
    return Processed(email, email.status)


#: MIME defects that mean part of the message is missing
DAMAGE = (
    "CloseBoundaryNotFoundDefect",
    "StartBoundaryNotFoundDefect",
    "MultipartInvariantViolationDefect",
)


def _damage(message: Any) -> str:
    found = {
        type(defect).__name__
        for part in message.walk()
        for defect in getattr(part, "defects", [])
        if type(defect).__name__ in DAMAGE
    }
    return ", ".join(sorted(found))


def _verdicts(email: InboundEmail) -> Verdicts:
    auth = (email.envelope or {}).get("auth", {})
    return Verdicts(
        email.dkim,
        email.spf,
        email.dmarc,
        tuple(auth.get("dkim_domains", ())),
        auth.get("source", ""),
    )


def _auto_apply_allowed(email: InboundEmail) -> bool:
    """Only complete, undamaged parses of authenticated mail, of a marketplace allowing it."""
    return (
        email.status == Status.PROPOSED
        and not email.problems
        and email.authenticated
        and email.marketplace in settings.CHARTEROPS_MAIL_AUTO_APPLY
    )


@dataclass(frozen=True)
class Applied:
    email: InboundEmail
    outcome: str  # applied | stale
    booking_outcome: str  # the upsert's: created | updated | unchanged | cancelled | stale


def proposal_apply(email: InboundEmail, *, actor: Any) -> Applied:
    """Apply a proposal through ``booking_upsert_from_event``, in one transaction.

    The message row is locked (its row only) so two people pressing Apply apply it once; the
    second gets ProposalClosed. Raises InvalidPayload (the boat was retired meanwhile, the
    party no longer fits) and changes nothing then. Writes the upsert's audit row and one
    ``bookings.inbound_email.applied`` (or ``.stale``) row.
    """
    with transaction.atomic(durable=True):
        locked = InboundEmail.objects.select_for_update(of=("self",)).defer("raw").get(pk=email.pk)
        if locked.status != Status.PROPOSED or not locked.payload:
            raise ProposalClosed(f"this message is {locked.get_status_display().lower()}")
        source = source_check(locked.marketplace, field="marketplace")
        payload = booking_payload_parse(locked.payload)
        result = booking_upsert_from_event(
            source,
            payload,
            actor=actor,
            occurred_at=locked.occurred_at or locked.sent_at,
            event_id=(locked.message_id or f"inbound-email-{locked.pk}")[:120],
            via="email",
            event_type="booking.cancelled" if locked.event == "cancelled" else "booking.updated",
        )
        locked.status = Status.STALE if result.outcome == "stale" else Status.APPLIED
        locked.booking = result.booking
        locked.decided_by = actor if getattr(actor, "pk", None) else None
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "booking", "decided_by", "decided_at"])
        audit_log(
            f"bookings.inbound_email.{locked.status}",
            locked,
            actor=actor,
            booking=result.booking,
            data={"booking_outcome": result.outcome, "event": locked.event},
        )
    return Applied(locked, locked.status, result.outcome)


def proposal_dismiss(email: InboundEmail, *, actor: Any) -> bool:
    """Dismiss a proposal or an unparsed message; False when it was decided already."""
    with transaction.atomic():
        dismissed = InboundEmail.objects.filter(
            pk=email.pk, status__in=InboundEmail.ATTENTION
        ).update(status=Status.DISMISSED, decided_by=actor, decided_at=timezone.now())
        if dismissed:
            audit_log("bookings.inbound_email.dismissed", email, actor=actor)
    return bool(dismissed)


def inbound_email_link(email: InboundEmail, booking: Booking, *, actor: Any) -> bool:
    """Record that staff made ``booking`` by hand from an unparsed message."""
    with transaction.atomic():
        linked = InboundEmail.objects.filter(pk=email.pk, status__in=InboundEmail.ATTENTION).update(
            status=Status.LINKED, booking=booking, decided_by=actor, decided_at=timezone.now()
        )
        if linked:
            audit_log("bookings.inbound_email.linked", email, actor=actor, booking=booking)
    return bool(linked)


@dataclass(frozen=True)
class DiffRow:
    field: str
    current: Any
    proposed: Any

    @property
    def changed(self) -> bool:
        return self.current != self.proposed


def proposal_diff(email: InboundEmail) -> tuple[Booking | None, list[DiffRow]]:
    """The booking the proposal would change (None: it would create one) and each field."""
    if not email.payload:
        return None, []
    try:
        payload = booking_payload_parse(email.payload)
        boat = boat_resolve(payload.boat)
    except InvalidPayload:
        return None, []
    proposed = booking_fields(payload, boat)
    if email.event == "cancelled":
        proposed["status"] = Booking.Status.CANCELLED
    # the model stores phones in E.164: compare what would be stored
    proposed["guest_phone"] = phone_normalize_or_keep(proposed["guest_phone"])
    booking = (
        Booking.objects.select_related("boat")
        .filter(source=email.marketplace, external_id=email.external_id)
        .first()
    )
    rows = [
        DiffRow(name, getattr(booking, name) if booking else None, proposed.get(name))
        for name in DIFF_FIELDS
        if name in proposed
    ]
    return booking, rows


def booking_initial_from_email(email: InboundEmail) -> dict[str, Any]:
    """The add-booking form's initial values from whatever an (unparsed) message showed."""
    found = email.found or {}
    initial: dict[str, Any] = {
        "source": email.marketplace or "direct",
        "external_id": email.external_id,
        "guest_name": found.get("guest_name", ""),
        "guest_email": found.get("guest_email", ""),
        "guest_phone": found.get("guest_phone", ""),
        "meeting_point": found.get("meeting_point", ""),
        "special_requests": f"From the email “{email.subject}” (message #{email.pk}).",
    }
    if email.event in EVENT_STATUS:
        initial["status"] = EVENT_STATUS[email.event]
    party = parse_int(found.get("party_size", ""))
    if party:
        initial["party_size"] = party
    for key in ("boat_price", "service_fee", "captain_fee", "owner_payout"):
        amount = parse_money(found.get(key, ""))
        if amount is not None:
            initial[key] = amount
    if found.get("boat"):
        with contextlib.suppress(InvalidPayload, ValueError):  # no such boat: left empty
            initial["boat"] = boat_resolve(BoatRef(name=found["boat"][:120])).pk
    day, at = parse_date(found.get("date", "")), parse_time(found.get("start_time", ""))
    if day and at:
        start = datetime.combine(day, at, tzinfo=ZoneInfo(settings.TIME_ZONE))
        initial["start"] = start
        length = parse_duration(found.get("duration", ""))
        end_at = parse_time(found.get("end_time", ""))
        if length:
            initial["end"] = start + length
        elif end_at:
            end = datetime.combine(day, end_at, tzinfo=start.tzinfo)
            initial["end"] = end if end > start else end + timedelta(days=1)
    return {k: v for k, v in initial.items() if v not in ("", None)}


def inbound_emails_unread_process(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Read every message stored but left unread (its door failed after storing it).

    The backstop of beat: each door reads what it stores at once and retries by redelivery,
    so this finds only what every retry missed. Idempotent; returns how many it read.
    """
    cutoff = timezone.now() - older_than
    unread = InboundEmail.objects.filter(status=Status.RECEIVED, received_at__lt=cutoff)
    done = 0
    for pk in unread.order_by("received_at", "pk").values_list("pk", flat=True)[:200]:
        email = InboundEmail.objects.filter(pk=pk).first()
        if email is not None:
            inbound_email_process(email)
            done += 1
    return done
