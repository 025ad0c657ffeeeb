"""Crew members: adding one makes the login account it needs (no password: crew use links)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from charterops.audit import audit_log

from .models import CrewMember


def _username_for(email: str) -> str:
    """A free username from the email's local part (``ana.ruiz``, ``ana.ruiz-2``, ...)."""
    user_model = get_user_model()
    base = re.sub(r"[^\w.@+-]", "", email.split("@", 1)[0].lower())[:120] or "crew"
    name, n = base, 1
    while user_model.objects.filter(username=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def crew_member_create(
    *,
    name: str,
    email: str,
    phone: str = "",
    roles: list[str] | None = None,
    notify_by: str = CrewMember.Channel.EMAIL,
    active: bool = True,
    actor: Any = None,
) -> CrewMember:
    """Add a crew member and the user account behind it, in one transaction, one audit row.

    The account has no usable password and no staff access: crew reach their charters by
    magic link (``crew.magic_links``). Not idempotent: each call adds a member.
    """
    with transaction.atomic():
        first, _, last = name.partition(" ")
        user = get_user_model().objects.create_user(
            _username_for(email), email=email, first_name=first[:150], last_name=last[:150]
        )
        member = CrewMember.objects.create(
            user=user,
            name=name,
            email=email,
            phone=phone,
            roles=list(roles or []),
            notify_by=notify_by,
            active=active,
        )
        audit_log(
            "crew.crew_member.created",
            member,
            actor=actor,
            data={"user": user.pk, "roles": member.roles},
        )
    return member
