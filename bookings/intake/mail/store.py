"""The raw store: every inbound message is kept, byte for byte, before anything reads it.

Deduplicated on (Message-ID, SHA-256 of the body): the same message arriving twice, by the
same door or another (SES and the IMAP copy, a re-imported mbox), is stored once and its
``times_seen`` counts the copies. The hash leaves out the headers, which relays add to
(``Received``), and normalises line endings, which IMAP (CRLF) and files (LF) disagree on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .authenticity import Verdicts, domain_of, from_address, verdicts_from_headers
from .models import InboundEmail

MAX_HEADERS = 200
MAX_HEADER_CHARS = 2000


@dataclass(frozen=True)
class Stored:
    email: InboundEmail
    created: bool  # False: a copy of a message already stored


def content_hash(raw: bytes) -> str:
    """SHA-256 of the body (after the first blank line), line endings normalised."""
    body = raw.replace(b"\r\n", b"\n")
    head, sep, rest = body.partition(b"\n\n")
    return hashlib.sha256(rest if sep else body).hexdigest()


def storable(text: Any, limit: int) -> str:
    """``text`` as PostgreSQL text and JSON can hold it, cut to ``limit`` characters."""
    # PostgreSQL text and JSON cannot hold NUL; lone surrogates cannot be encoded.
    value = str(text).replace("\x00", "\ufffd")
    return value.encode("utf-8", "replace").decode("utf-8")[:limit]


def headers_of(message: Message) -> list[list[str]]:
    out = []
    for name, value in list(message.items())[:MAX_HEADERS]:
        try:
            text = str(value)
        except Exception:  # noqa: BLE001 (an undecodable header is kept as its raw text)
            text = repr(value)
        out.append([storable(name, 100), storable(text, MAX_HEADER_CHARS)])
    return out


def _header(message: Message, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except Exception:  # noqa: BLE001
        return ""


def _sent_at(message: Message):
    try:
        value = parsedate_to_datetime(_header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    if value is None:
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value, timezone.utc)


def inbound_email_store(
    raw: bytes,
    *,
    via: str,
    envelope: dict[str, Any] | None = None,
    verdicts: Verdicts | None = None,
) -> Stored:
    """Store ``raw`` (one RFC 5322 message) unless a copy is stored already; commits at once.

    Reads only the headers, so nothing in the message can stop it from being stored.
    Idempotent: a second copy is not stored again, it adds one to ``times_seen``. ``verdicts``
    are SES's; without them they are read from the ``Authentication-Results`` header.
    """
    message = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    message_id = storable(_header(message, "Message-ID").strip(), 255)
    digest = content_hash(raw)
    if verdicts is None:
        try:
            verdicts = verdicts_from_headers(message)
        except Exception:  # noqa: BLE001 (a header we cannot read gives no verdict)
            verdicts = Verdicts()
    sender = from_address(message)
    fields = {
        "via": via,
        "raw": raw,
        "size": len(raw),
        "subject": storable(_header(message, "Subject"), 300),
        "from_address": storable(sender, 254),
        "sender_domain": storable(domain_of(sender), 253),
        "sent_at": _sent_at(message),
        "envelope": {**(envelope or {}), "auth": verdicts.as_dict()},
        "headers": headers_of(message),
        "dkim": verdicts.dkim,
        "spf": verdicts.spf,
        "dmarc": verdicts.dmarc,
    }
    try:
        with transaction.atomic():
            email = InboundEmail.objects.create(
                message_id=message_id, content_hash=digest, **fields
            )
    except IntegrityError:
        existing = InboundEmail.objects.filter(message_id=message_id, content_hash=digest)
        existing.update(times_seen=F("times_seen") + 1)
        return Stored(existing.defer("raw").get(), False)
    return Stored(email, True)
