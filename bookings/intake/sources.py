"""Sources are namespaces: a booking is identified by (source, its id at that source).

A source is *configured* when it is built in (``direct``, staff and API bookings of our own;
the marketplaces ``boatsetter`` and ``getmyboat``, whose emails need no secret; ``scc``, the
legacy SCC API), listed in ``CHARTEROPS_INTAKE_SOURCES``, or has webhook secrets (the
``CHARTEROPS_WEBHOOK_SECRETS`` setting, from the ``CHARTEROPS_WEBHOOK_SECRETS_<SOURCE>``
variables). Built in is not trusted: the webhook still 401s a built-in source without
secrets. A booking is stored under its source's own name, never collapsed into another: two
relays that use the same booking id keep two bookings. Anything else is refused at the door
(the webhook 401s without a secret; the API and the SCC endpoint answer 422 naming
``source``).
"""

from __future__ import annotations

import re

from django.conf import settings

from ..signatures import webhook_secrets
from .schema import InvalidPayload

BUILT_IN = ("direct", "boatsetter", "getmyboat", "scc")
#: what fits Booking.source and reads well in a URL
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")


def source_configured(source: str) -> bool:
    """Whether bookings may be stored under ``source``."""
    if not NAME.match(source):
        return False
    return (
        source in BUILT_IN
        or source in settings.CHARTEROPS_INTAKE_SOURCES
        or bool(webhook_secrets(source))
    )


def source_check(source: str, *, field: str = "source") -> str:
    """``source`` if configured; else InvalidPayload naming ``field`` with what is accepted."""
    if source_configured(source):
        return source
    known = ", ".join(sources_configured())
    raise InvalidPayload(
        {field: [f"unknown source {source[:40]!r}: configured sources are {known}"]}
    )


def sources_configured() -> list[str]:
    """Every configured source name, sorted (the admin's filter lists these, no query)."""
    names = set(BUILT_IN) | set(settings.CHARTEROPS_INTAKE_SOURCES)
    names |= {key for key, secrets in settings.CHARTEROPS_WEBHOOK_SECRETS.items() if any(secrets)}
    return sorted(n for n in names if NAME.match(n))
