"""The three ways in: SES inbound (anymail's signal), an IMAP mailbox, and files.

Each stores the raw message first (``store.inbound_email_store``), then reads it
(``proposals.inbound_email_process``); both are idempotent, so a redelivery (SNS retries, a
message left unmarked by a dropped IMAP connection, a re-imported mbox) changes nothing.
"""

from __future__ import annotations

import base64
import logging
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anymail.signals import inbound
from django.conf import settings
from django.dispatch import receiver

from ...integrations.imap import Mailbox
from .authenticity import verdicts_from_ses
from .models import InboundEmail
from .proposals import inbound_email_process
from .store import inbound_email_store

log = logging.getLogger(__name__)
Status = InboundEmail.Status


@dataclass(frozen=True)
class Received:
    """What became of one message: the line ``mail_import`` and ``mail_fetch`` print."""

    label: str
    email: InboundEmail
    duplicate: bool
    outcome: str

    def line(self) -> str:
        email = self.email
        booking = email.booking.reference if email.booking_id else email.external_id or "?"
        said = {
            Status.UNPARSED: "unparsed",
            Status.PROPOSED: f"proposal for booking {email.external_id}",
            Status.APPLIED: f"applied to booking {booking}",
            Status.STALE: f"stale for booking {booking} (a later event was applied)",
            Status.DISMISSED: "dismissed",
            Status.LINKED: f"booked by hand as {booking}",
        }.get(email.status, email.status)
        kind = f"duplicate of message #{email.pk}" if self.duplicate else f"stored #{email.pk}"
        event = f" [{email.marketplace} {email.event}]" if email.marketplace else ""
        return f"{self.label}: {kind}, {said}{event}"


def inbound_email_receive(
    raw: bytes, *, via: str, label: str, envelope: dict[str, Any] | None = None, verdicts=None
) -> Received:
    """Store one raw message, then read it (both idempotent). Outside any transaction."""
    stored = inbound_email_store(raw, via=via, envelope=envelope, verdicts=verdicts)
    processed = inbound_email_process(stored.email)
    return Received(label, processed.email, not stored.created, processed.outcome)


# --- Amazon SES inbound, through anymail ------------------------------------------------


#: SES receives messages up to 40 MB; an S3 object larger than this is not one of its messages.
S3_RAW_MAX_BYTES = 64 * 1024 * 1024


def ses_raw(ses_event: dict[str, Any], message: Any) -> tuple[bytes, str]:
    """The raw MIME of an SES notification, and where it was read (``raw_from``).

    Inline content is as SES sent it ("inline"). For the S3 action, anymail's signal only
    offers the message it parsed, whose re-serialisation changes line ends and header
    folding; so the object is read again, byte for byte, through the S3 adapter
    ("s3://bucket/key"). If that second read fails where anymail's succeeded a moment ago,
    anymail's copy is stored ("anymail") rather than nothing. Read-only; not retried.
    """
    content = ses_event.get("content")
    action = ses_event.get("receipt", {}).get("action", {}) or {}
    if isinstance(content, str):
        if action.get("encoding") == "BASE64":
            return base64.b64decode(content.encode("ascii")), "inline"
        try:
            return content.encode("utf-8", "surrogateescape"), "inline"
        except UnicodeEncodeError:  # a lone surrogate JSON allowed: keep the rest
            return content.encode("utf-8", "replace"), "inline"
    bucket, key = action.get("bucketName", ""), action.get("objectKey", "")
    if action.get("type") == "S3" and bucket and key:
        raw = _s3_object_read(bucket, key)
        if raw is not None:
            return raw, f"s3://{bucket}/{key}"
    return message.as_bytes(), "anymail"


def _s3_object_read(bucket: str, key: str) -> bytes | None:
    from charterops.integrations.s3 import S3ObjectStore

    try:
        raw = S3ObjectStore(bucket=bucket).read(key, max_bytes=S3_RAW_MAX_BYTES + 1)
    except Exception:  # botocore's errors: the domain never imports them; anymail's copy stands
        log.warning("could not read s3://%s/%s again; storing anymail's copy", bucket, key,
                    exc_info=True)  # fmt: skip
        return None
    if raw is None or len(raw) > S3_RAW_MAX_BYTES:
        log.warning("s3://%s/%s missing or too large; storing anymail's copy", bucket, key)
        return None
    return raw


@receiver(inbound, dispatch_uid="bookings.intake.mail.ses")
def ses_inbound_received(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """anymail verified the request (basic auth, SNS headers); store and read the message."""
    if esp_name != "Amazon SES":
        return
    ses_event = event.esp_event or {}
    receipt = ses_event.get("receipt", {}) or {}
    topic = receipt.get("action", {}).get("topicArn", "")
    allowed = settings.CHARTEROPS_MAIL_SES_TOPIC_ARNS
    if allowed and topic not in allowed:
        # Not our receipt rule: answered 200 (SNS would retry anything else) and dropped.
        log.warning("SES inbound from an unexpected SNS topic %r dropped", topic)
        return
    mail = ses_event.get("mail", {}) or {}
    raw, raw_from = ses_raw(ses_event, event.message)
    inbound_email_receive(
        raw,
        via=InboundEmail.Via.SES,
        label=f"ses:{event.event_id}",
        envelope={
            "mail_from": mail.get("source", ""),
            "rcpt_to": receipt.get("recipients", []),
            "ses_message_id": event.event_id or "",
            "topic": topic,
            "spam": receipt.get("spamVerdict", {}).get("status", ""),
            "virus": receipt.get("virusVerdict", {}).get("status", ""),
            "raw_from": raw_from,
        },
        verdicts=verdicts_from_ses(receipt),
    )


# --- IMAP ---------------------------------------------------------------------------------


def mail_fetch(box: Mailbox, *, limit: int = 200) -> list[Received]:
    """Store every new message of the mailbox, then mark it \\Seen (or move it).

    New means unseen (or, when moving, anything left in the folder). A message is fetched
    without marking it, and marked only once it is stored: a connection dropped in between
    leaves it new, the next poll stores it again, and the store counts that as a copy of the
    same message. A move that fails leaves the message in place, marked seen; the adapter
    never deletes an original without a copy. Retried by the next beat run; raises ImapError
    when the mailbox cannot be reached or the connection drops.
    """
    results: list[Received] = []
    with box:
        for message_id in box.new_ids(limit=limit):
            raw = box.fetch(message_id)
            if raw is None:
                continue
            results.append(
                inbound_email_receive(
                    raw,
                    via=InboundEmail.Via.IMAP,
                    label=f"imap:{box.folder}/{message_id}",
                    envelope={"mailbox": box.address, "folder": box.folder, "uid": message_id},
                )
            )
            if box.move_to:
                if box.move(message_id, box.move_to):
                    continue
                log.warning("could not move a stored message to %r; marked seen", box.move_to)
            box.mark_seen(message_id)
    return results


# --- Files ----------------------------------------------------------------------------------


def mail_files_read(path: Path) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) of each message of an ``.eml`` file or an ``.mbox`` mailbox."""
    if path.suffix.lower() == ".mbox":
        box = mailbox.mbox(str(path), create=False)
        try:
            for number, key in enumerate(box.keys(), start=1):
                yield f"{path.name}#{number}", box.get_bytes(key)
        finally:
            box.close()
    else:
        yield path.name, path.read_bytes()


def mail_import(path: Path) -> list[Received]:
    """Store and read every message of one file; importing the same file again changes nothing."""
    return [
        inbound_email_receive(
            raw, via=InboundEmail.Via.IMPORT, label=label, envelope={"file": str(path)}
        )
        for label, raw in mail_files_read(path)
    ]
