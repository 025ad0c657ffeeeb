"""The three ways in: SES inbound (anymail's signal), an IMAP mailbox, and files.

Each stores the raw message first (``store.inbound_email_store``), then reads it
(``proposals.inbound_email_process``); both are idempotent, so a redelivery (SNS retries, a
message left unmarked by a dropped IMAP connection, a re-imported mbox) changes nothing.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import logging
import mailbox
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anymail.signals import inbound
from django.conf import settings
from django.dispatch import receiver

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


def ses_raw(ses_event: dict[str, Any], message: Any) -> bytes:
    """The raw MIME of an SES notification: as SES sent it inline, else as anymail read it."""
    content = ses_event.get("content")
    action = ses_event.get("receipt", {}).get("action", {})
    if isinstance(content, str):
        if action.get("encoding") == "BASE64":
            return base64.b64decode(content.encode("ascii"))
        try:
            return content.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate JSON allowed: keep the rest
            return content.encode("utf-8", "replace")
    return message.as_bytes()  # the S3 action: anymail streamed and parsed the object


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
    inbound_email_receive(
        ses_raw(ses_event, event.message),
        via=InboundEmail.Via.SES,
        label=f"ses:{event.event_id}",
        envelope={
            "mail_from": mail.get("source", ""),
            "rcpt_to": receipt.get("recipients", []),
            "ses_message_id": event.event_id or "",
            "topic": topic,
            "spam": receipt.get("spamVerdict", {}).get("status", ""),
            "virus": receipt.get("virusVerdict", {}).get("status", ""),
        },
        verdicts=verdicts_from_ses(receipt),
    )


# --- IMAP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImapMailbox:
    host: str
    port: int
    ssl: bool
    user: str
    password: str
    folder: str = "INBOX"
    move_to: str = ""

    @classmethod
    def from_settings(cls) -> ImapMailbox:
        return cls(
            host=settings.CHARTEROPS_MAIL_IMAP_HOST,
            port=settings.CHARTEROPS_MAIL_IMAP_PORT,
            ssl=settings.CHARTEROPS_MAIL_IMAP_SSL,
            user=settings.CHARTEROPS_MAIL_IMAP_USER,
            password=settings.CHARTEROPS_MAIL_IMAP_PASSWORD,
            folder=settings.CHARTEROPS_MAIL_IMAP_FOLDER,
            move_to=settings.CHARTEROPS_MAIL_IMAP_MOVE_TO,
        )


class ImapError(Exception):
    """The mailbox could not be read (connection, login, folder)."""


def mail_fetch(box: ImapMailbox, *, limit: int = 200) -> list[Received]:
    """Store every new message of the mailbox, then mark it \\Seen (or move it).

    New means unseen (or, when moving, anything left in the folder). A message is fetched
    with ``BODY.PEEK`` so it is marked only after it is stored: a crash in between leaves it
    new, and the next poll stores a duplicate, which the store recognises. Retried by the
    next beat run; raises ImapError when the mailbox cannot be reached.
    """
    try:
        if box.ssl:
            # imaplib's default context verifies nothing: the app password would go to anyone.
            client = imaplib.IMAP4_SSL(
                box.host, box.port, ssl_context=ssl.create_default_context(), timeout=30
            )
        else:
            client = imaplib.IMAP4(box.host, box.port, timeout=30)
    except OSError as exc:
        raise ImapError(f"cannot reach {box.host}:{box.port}: {exc}") from exc
    results: list[Received] = []
    try:
        try:
            client.login(box.user, box.password)
            status, _ = client.select(_quoted(box.folder))
            if status != "OK":
                raise ImapError(f"cannot open the folder {box.folder!r}")
            status, data = client.uid("SEARCH", None, "ALL" if box.move_to else "UNSEEN")
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"{box.user}@{box.host}: {exc}") from exc
        uids = (data[0] or b"").split()[:limit] if status == "OK" else []
        for uid in uids:
            raw = _fetch(client, uid)
            if raw is None:
                continue
            results.append(
                inbound_email_receive(
                    raw,
                    via=InboundEmail.Via.IMAP,
                    label=f"imap:{box.folder}/{uid.decode()}",
                    envelope={"mailbox": f"{box.user}@{box.host}", "folder": box.folder,
                              "uid": uid.decode()},
                )
            )  # fmt: skip
            _done(client, uid, box.move_to)
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
    return results


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetch(client: imaplib.IMAP4, uid: bytes) -> bytes | None:
    status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


def _done(client: imaplib.IMAP4, uid: bytes, move_to: str) -> None:
    """Mark a stored message \\Seen, or move it; a move that fails leaves it in place, seen."""
    if move_to:
        if _move(client, uid, move_to):
            return
        client.create(_quoted(move_to))  # the folder may not exist yet (TRYCREATE)
        if _move(client, uid, move_to):
            return
        log.warning("could not move a stored message to %r; marked seen instead", move_to)
    client.uid("STORE", uid, "+FLAGS", "(\\Seen)")


def _move(client: imaplib.IMAP4, uid: bytes, folder: str) -> bool:
    status, _ = client.uid("MOVE", uid, _quoted(folder))
    if status == "OK":
        return True
    # A server without the MOVE extension: copy, and delete only once the copy exists.
    status, _ = client.uid("COPY", uid, _quoted(folder))
    if status != "OK":
        return False
    client.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
    client.expunge()
    return True


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
