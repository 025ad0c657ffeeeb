"""Webhook signatures: ``X-CharterOps-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">``.

Secrets come per source from ``settings.CHARTEROPS_WEBHOOK_SECRETS`` (a list, so an old and
a new secret can both be valid during a rotation), which settings build from the
``CHARTEROPS_WEBHOOK_SECRETS_<SOURCE>`` environment variables.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from django.conf import settings

SIGNATURE_HEADER = "X-CharterOps-Signature"


class SignatureError(Exception):
    """The delivery is not authentic (answered 401); the message says why."""


def webhook_secrets_key(source: str) -> str:
    """``source``'s key in ``CHARTEROPS_WEBHOOK_SECRETS``: its variable's suffix, lower-cased
    (``my-relay`` is ``CHARTEROPS_WEBHOOK_SECRETS_MY_RELAY``, key ``my_relay``)."""
    return re.sub(r"[^A-Z0-9]", "_", source.upper()).lower()


def webhook_secrets(source: str) -> list[str]:
    """The secrets currently valid for ``source``; empty when none is configured."""
    configured = settings.CHARTEROPS_WEBHOOK_SECRETS.get(webhook_secrets_key(source), [])
    return [secret for secret in configured if secret]


def signature_compute(body: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The header value a sender puts on ``body`` (used by docs, tests and the benchmark)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature_compute(body, secret, t)}"


def signature_parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        raise SignatureError("malformed signature header: expected t=<unix seconds>,v1=<hex>")
    return timestamp, candidates


def signature_verify(
    body: bytes, header: str, secrets: list[str], *, now: float, tolerance: int
) -> int:
    """Check ``header`` against every secret in constant time; return the signed timestamp.

    Raises SignatureError when no secret matches or the timestamp is more than ``tolerance``
    seconds away from ``now`` (either way: replays and clocks far in the future).
    """
    timestamp, candidates = signature_parse(header)
    matched = False
    for secret in secrets:
        expected = signature_compute(body, secret, timestamp)
        for candidate in candidates:
            # Every pair is compared so the time taken does not depend on which one matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("signature does not match")
    if abs(now - timestamp) > tolerance:
        raise SignatureError(
            f"signature timestamp is outside the {tolerance // 60}-minute window (replay refused)"
        )
    return timestamp
