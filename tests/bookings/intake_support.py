"""Helpers for the intake tests: recorded payloads, signing, posting, a token, the boat they name."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bookings.signatures import signature_header

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "whsec_current_4f9b2a"
OLD_SECRET = "whsec_previous_77c1d0"
WEBHOOK_URL = "/webhooks/bookings/boatsetter/"


def webhook_secrets_set(settings, source: str, *secrets: str) -> None:
    """Give ``source`` these webhook secrets for one test (none: it has none), through
    pytest-django's ``settings`` fixture, which puts the setting back afterwards."""
    configured = {k: v for k, v in settings.CHARTEROPS_WEBHOOK_SECRETS.items() if k != source}
    if secrets:
        configured[source] = list(secrets)
    settings.CHARTEROPS_WEBHOOK_SECRETS = configured


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    """A recorded payload ``fixtures/<event>__<variant>.json``; overrides replace top-level keys."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data.update(overrides)
    return data


def booking_of(name: str, **overrides: Any) -> dict[str, Any]:
    data = load_event(name)["booking"]
    data.update(overrides)
    return data


def encode(event: dict[str, Any] | bytes | str) -> bytes:
    if isinstance(event, bytes):
        return event
    if isinstance(event, str):
        return event.encode()
    return json.dumps(event, ensure_ascii=False).encode()


def post_signed(
    client,
    event: dict[str, Any] | bytes | str,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    url: str = WEBHOOK_URL,
    header: str | None = None,
    content_type: str = "application/json",
    **extra: Any,
):
    """POST ``event`` as a relay would: JSON body, HMAC signature over "t.body"."""
    body = encode(event)
    signature = (
        header
        if header is not None
        else signature_header(
            body, secret, timestamp=int(time.time()) if timestamp is None else timestamp
        )
    )
    return client.post(
        url,
        data=body,
        content_type=content_type,
        headers={"X-CharterOps-Signature": signature, **extra.pop("headers", {})},
        **extra,
    )
