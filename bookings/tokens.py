"""API tokens for internal tools (``X-Dashboard-Token``): issue once, keep only the SHA-256.

A token is shown once when issued; afterwards only its hash and first characters are kept.
Tokens expire (90 days by default: a quarterly rotation) and can be revoked at any time.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from charterops.audit import audit_log

from .models import ApiToken

TOKEN_PREFIX = "cot_"
DEFAULT_DAYS = 90
#: last_used_at is written at most this often per token, so reads do not all become writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenRefused(Exception):
    """The request's token is missing, unknown, expired or revoked; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenNameTaken(Exception):
    pass


def api_token_issue(
    name: str, *, days: int = DEFAULT_DAYS, actor: Any = None
) -> tuple[ApiToken, str]:
    """Create a token named ``name`` valid for ``days``; return it and the raw secret.

    The raw secret is returned only here and is never stored. Not idempotent: names are
    unique, so issuing a second token under a taken name raises TokenNameTaken.
    """
    if days < 1:
        raise ValueError("a token must be valid for at least one day")
    if ApiToken.objects.filter(name=name).exists():
        raise TokenNameTaken(f"a token named {name!r} exists; revoke it or pick another name")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name,
            token_hash=ApiToken.hash(raw),
            prefix=raw[:8],
            expires_at=timezone.now() + timedelta(days=days),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_log("bookings.api_token.issued", token, actor=actor, data={"days": days})
    return token, raw


def api_token_verify(raw: str | None, *, now: Any = None) -> ApiToken:
    """Return the live token whose hash matches ``raw`` and note when it was used.

    Raises TokenRefused with a short reason. The lookup is by SHA-256 (an indexed, unique
    column), so nothing about other tokens leaks through timing.
    """
    if not raw:
        raise TokenRefused("missing X-Dashboard-Token header")
    now = now or timezone.now()
    token = ApiToken.objects.filter(token_hash=ApiToken.hash(raw.strip())).first()
    if token is None:
        raise TokenRefused("unknown token")
    if token.revoked_at is not None:
        raise TokenRefused("token revoked")
    if token.expires_at <= now:
        raise TokenRefused("token expired")
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_revoke(token: ApiToken, *, actor: Any = None) -> bool:
    """Revoke the token at once. Idempotent: returns False if it was already revoked."""
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(),
            revoked_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        if updated:
            audit_log("bookings.api_token.revoked", token, actor=actor)
    token.refresh_from_db(fields=["revoked_at", "revoked_by"])
    return bool(updated)
