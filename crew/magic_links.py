"""Crew magic links: the token domain (issue, check, revoke), on django-sesame's public API only.

The HTTP side (the ``@crew_link_required`` decorator, the device's session grants and the
refusal page) is ``crew.magic_link_views``.

``crew_magic_link(assignment) -> str``
    The absolute URL ``{SITE_URL}/crew/events/<booking id>/?sesame=<link token>`` for the
    assignment's member.

A link token is ``<booking>.<assignment>.<generation>.<issued>.<sesame token>``: the claims in
clear, then a token from ``sesame.utils.get_token`` whose *scope* is those same claims. So
``sesame.utils.get_user(token, scope=claims)`` checks them all with one signature, and the
claims, once signed, say why a genuine link is refused (another charter, an older revocation
generation, an issue time past ``SESAME_MAX_AGE``) without a second signature or any of
sesame's private modules: a forged link costs one signature check and one query, never more
than a valid one. The claims are not secret (the booking id is in the URL anyway).

``crew_link_check(token, booking_id) -> LinkCheck``
    Who a token opens this booking for, or the refusal reason. Reads only.

Links sent before this shape (a bare sesame token scoped to
``crew:<booking>:<assignment>:<generation>``) keep opening their charter while
``CHARTEROPS_CREW_LEGACY_LINKS`` is on, so a deploy does not lock out crew holding them: they
are checked against the crew of *the URL's booking* only (one signature per member aboard,
never per charter of the member), and still fall to revocation and the booking's window.

``crew_link_assignment_refusal(assignment)``
    The refusal the assignment's own state gives (member withdrawn, the booking's window
    over), shared by token and session checks.

``magic_links_revoke_for_member(member, *, actor)`` / ``magic_links_revoke_for_booking(booking, *, actor)``
    Staff revocation: bumps the link generation of the assignments, which every token signed
    and every session grant recorded. Tokens *and* sessions of the old generation are refused.
    Each member still on a live charter is sent one "your new link" message per revocation
    (``new_links``, when given, collects those Notification rows).

``crew_link_expires_at(booking)``
    When links to the booking stop working: the charter's end plus
    ``CHARTEROPS_CREW_LINK_DAYS_AFTER`` days (7).

Tokens are never logged: refusals log a reason code and the booking id only.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from sesame.utils import get_token, get_user

from bookings.models import Booking
from charterops.audit import audit_log

from .models import CrewAssignment, CrewMember

__all__ = [
    "LinkCheck",
    "Refusal",
    "crew_link_assignment_refusal",
    "crew_link_check",
    "crew_link_expires_at",
    "crew_link_token",
    "crew_magic_link",
    "magic_links_revoke_for_booking",
    "magic_links_revoke_for_member",
]


class Refusal:
    """Why a link was refused; each code has a sentence the member can act on."""

    EXPIRED = "expired"
    REVOKED = "revoked"
    WRONG_CHARTER = "wrong_charter"
    TAMPERED = "tampered"
    MISSING = "missing"

    MESSAGES = {
        EXPIRED: "This link has expired: crew links stop working a week after the charter ends.",
        REVOKED: "This link was withdrawn by the office. Use the newest message you received.",
        WRONG_CHARTER: "This link belongs to a different charter, not this one.",
        TAMPERED: "This link is incomplete or was altered. Open it again from your message.",
        MISSING: "This page opens from the link in your crew message.",
    }


@dataclass(frozen=True)
class _Claims:
    """What a link token says about itself; trusted only once sesame accepted it for ``scope``."""

    booking_id: int
    assignment_id: int
    generation: int
    issued: int  # seconds since the epoch

    @property
    def scope(self) -> str:
        return f"crew:{self.booking_id}:{self.assignment_id}:{self.generation}:{self.issued}"


# Claims are decimal; sesame's v2 tokens are unpadded base64url, which has no ".".
_TOKEN = re.compile(r"(\d{1,18})\.(\d{1,18})\.(\d{1,9})\.(\d{1,12})\.([A-Za-z0-9_-]+)")
_LEGACY_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,512}")


def _claims_split(token: str) -> tuple[_Claims, str] | None:
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    booking, assignment, generation, issued, sesame_token = match.groups()
    return _Claims(int(booking), int(assignment), int(generation), int(issued)), sesame_token


def crew_link_expires_at(booking: Booking) -> datetime:
    """When links to this charter stop working (the charter's end plus a grace period)."""
    return booking.end + timedelta(days=settings.CHARTEROPS_CREW_LINK_DAYS_AFTER)


def crew_link_token(assignment: CrewAssignment) -> str:
    """A new link token for the assignment's member, at its current generation. Pure."""
    claims = _Claims(
        booking_id=assignment.booking_id,
        assignment_id=assignment.pk,
        generation=assignment.link_generation,
        issued=int(time.time()),
    )
    sesame_token = get_token(assignment.member.user, scope=claims.scope)
    return f"{claims.booking_id}.{claims.assignment_id}.{claims.generation}.{claims.issued}.{sesame_token}"


def crew_magic_link(assignment: CrewAssignment) -> str:
    """The member's passwordless link to this charter's crew page. Pure: creates a new token."""
    token_name = getattr(settings, "SESAME_TOKEN_NAME", "sesame")
    return (
        f"{settings.SITE_URL}/crew/events/{assignment.booking_id}/"
        f"?{token_name}={crew_link_token(assignment)}"
    )


# --- Checking a token -----------------------------------------------------------------------


@dataclass
class LinkCheck:
    assignment: CrewAssignment | None = None
    refusal: str = ""
    user: Any = None


def crew_assignments() -> Any:
    """Assignments with what a crew page shows selected (booking, boat, member, user)."""
    return CrewAssignment.objects.select_related("booking__boat", "member__user")


def crew_link_assignment_refusal(assignment: CrewAssignment) -> str:
    """The refusal the assignment's own state gives now ("" when it may open its charter)."""
    if not assignment.member.active:
        return Refusal.REVOKED
    if timezone.now() > crew_link_expires_at(assignment.booking):
        return Refusal.EXPIRED
    return ""


def crew_link_check(token: str, booking_id: int) -> LinkCheck:
    """Who this link token opens this booking's crew page for, or why nobody. Reads only.

    One signature check (``sesame.utils.get_user``) whatever the outcome, and none for a
    token that does not parse or was issued longer than ``SESAME_MAX_AGE`` ago (which sesame
    would refuse before its signature check anyway). A genuine link of another of the
    member's charters opened at this charter's URL reads as altered (the URL was edited).
    """
    split = _claims_split(token)
    if split is None:
        return _legacy_link_check(token, booking_id)
    claims, sesame_token = split
    max_age = getattr(settings, "SESAME_MAX_AGE", None)
    if max_age is not None and time.time() - claims.issued > _seconds(max_age):
        return LinkCheck(refusal=Refusal.EXPIRED)
    user = get_user(sesame_token, scope=claims.scope, update_last_login=False)
    if user is None:
        return LinkCheck(refusal=Refusal.TAMPERED)
    # From here on the claims are the ones the office signed.
    if claims.booking_id != booking_id:
        on_this_charter = CrewAssignment.objects.filter(
            booking_id=booking_id, member__user=user
        ).exists()
        return LinkCheck(refusal=Refusal.TAMPERED if on_this_charter else Refusal.WRONG_CHARTER)
    assignment = (
        crew_assignments()
        .filter(pk=claims.assignment_id, booking_id=booking_id, member__user=user)
        .first()
    )
    if assignment is None or assignment.link_generation != claims.generation:
        # removed from the charter, or its links were withdrawn since this one was sent
        return LinkCheck(refusal=Refusal.REVOKED)
    refusal = crew_link_assignment_refusal(assignment)
    if refusal:
        return LinkCheck(refusal=refusal)
    return LinkCheck(assignment=assignment, user=user)


def _legacy_link_check(token: str, booking_id: int) -> LinkCheck:
    """A link sent before claims rode beside the token: tried against this charter's crew only.

    A revoked generation or another charter's link reads as altered here: without claims
    there is nothing signed to tell them apart. Reads only.
    """
    if not settings.CHARTEROPS_CREW_LEGACY_LINKS or not _LEGACY_TOKEN.fullmatch(token):
        return LinkCheck(refusal=Refusal.TAMPERED)
    for assignment in crew_assignments().filter(booking_id=booking_id).order_by("pk"):
        scope = f"crew:{booking_id}:{assignment.pk}:{assignment.link_generation}"
        user = get_user(token, scope=scope, update_last_login=False)
        if user is not None and user.pk == assignment.member.user_id:
            refusal = crew_link_assignment_refusal(assignment)
            if refusal:
                return LinkCheck(refusal=refusal)
            return LinkCheck(assignment=assignment, user=user)
    return LinkCheck(refusal=Refusal.TAMPERED)


def _seconds(max_age: Any) -> float:
    """``SESAME_MAX_AGE`` in seconds (sesame accepts an int or a ``timedelta``)."""
    return max_age.total_seconds() if isinstance(max_age, timedelta) else float(max_age)


# --- Revoking -------------------------------------------------------------------------------


def magic_links_revoke_for_member(
    member: CrewMember, *, actor: Any = None, new_links: list | None = None
) -> int:
    """Invalidate every link (and crew session) the member holds. Returns assignments touched.

    Not idempotent by design: each call invalidates links issued since the previous one.
    Each upcoming live charter of the member gets one "your new link" message (sent after
    commit through the outbox; ``crew.notifications.crew_new_links_send``).
    """
    with transaction.atomic():
        count = CrewAssignment.objects.filter(member=member).update(
            link_generation=F("link_generation") + 1
        )
        audit_log("crew.magic_links.revoked", member, actor=actor, data={"assignments": count})
        _new_links_send(CrewAssignment.objects.filter(member=member), new_links)
    return count


def magic_links_revoke_for_booking(
    booking: Booking, *, actor: Any = None, new_links: list | None = None
) -> int:
    """Invalidate every crew link (and crew session) to this charter. Returns assignments touched.

    Each member still on the live charter gets one "your new link" message (after commit).
    """
    with transaction.atomic():
        count = CrewAssignment.objects.filter(booking=booking).update(
            link_generation=F("link_generation") + 1
        )
        audit_log("crew.magic_links.revoked", booking, actor=actor, data={"assignments": count})
        _new_links_send(CrewAssignment.objects.filter(booking=booking), new_links)
    return count


def _new_links_send(assignments, into: list | None) -> None:
    """Record the new-link messages (``into`` collects them for the caller's message)."""
    from .notifications import crew_new_links_send

    notes = crew_new_links_send(list(assignments.select_related("booking__boat", "member")))
    if into is not None:
        into.extend(notes)
