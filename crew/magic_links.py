"""Crew magic links: passwordless, scoped to one member and one charter, expiring, revocable.

The interface the crew pages use (keep it this small):

``crew_magic_link(assignment) -> str``
    The absolute URL ``{SITE_URL}/crew/events/<booking id>/?sesame=<token>`` for the
    assignment's member. The django-sesame token is scoped to the member's assignment on that
    booking *and* its revocation generation, so it opens nothing else.

``@crew_link_required``
    Decorator for every crew page. The view must take the ``booking_id`` URL kwarg. It
    accepts either a ``?sesame=`` token (first visit from the message) or the session that a
    previous visit left for that booking, then sets:

    - ``request.crew_assignment``: the member's ``CrewAssignment`` on this booking, with
      ``booking``, ``booking.boat``, ``member`` and ``member.user`` already selected;
    - ``request.crew_member``: the ``CrewMember``.

    A GET with a valid token logs the member in (for that booking only: the session remembers
    which bookings the device may open) and redirects to the same URL without the token, so the
    token leaves the address bar, the history and any access log after the first hop. Anything
    else renders ``crew/link_refused.html`` with status 403 and a reason (``expired``,
    ``revoked``, ``wrong_charter``, ``tampered``, ``missing``), never any charter data.

``magic_links_revoke_for_member(member, *, actor)`` / ``magic_links_revoke_for_booking(booking, *, actor)``
    Staff revocation: bumps the link generation of the assignments, which changes the scope
    every token was signed for. Tokens *and* sessions of the old generation are refused.
    Each member still on a live charter is sent one "your new link" message per revocation
    (``new_links``, when given, collects those Notification rows).

``SESSION_KEY``
    The session entry ``{"<booking id>": [assignment id, generation]}`` listing the charters
    this device may open (read it, e.g. to list them; only the decorator writes it).

``crew_link_expires_at(booking)``
    When links to the booking stop working: the charter's end plus
    ``CHARTEROPS_CREW_LINK_DAYS_AFTER`` days (7).

Tokens are never logged: refusals log a reason code and the booking id only.
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from sesame import packers, tokens_v2
from sesame import settings as sesame_settings
from sesame.utils import get_query_string, get_user

from bookings.models import Booking
from charterops.audit import audit_log

from .models import CrewAssignment, CrewMember, Notification

log = logging.getLogger(__name__)

SESSION_KEY = "crew_links"


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


def crew_link_scope(assignment: CrewAssignment) -> str:
    """The sesame scope of an assignment's links: booking, assignment and revocation generation."""
    return f"crew:{assignment.booking_id}:{assignment.pk}:{assignment.link_generation}"


def crew_link_expires_at(booking: Booking) -> datetime:
    """When links to this charter stop working (the charter's end plus a grace period)."""
    return booking.end + timedelta(days=settings.CHARTEROPS_CREW_LINK_DAYS_AFTER)


def crew_magic_link(assignment: CrewAssignment) -> str:
    """The member's passwordless link to this charter's crew page. Pure: creates a new token."""
    qs = get_query_string(assignment.member.user, scope=crew_link_scope(assignment))
    return f"{settings.SITE_URL}/crew/events/{assignment.booking_id}/{qs}"


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


# --- Checking a request ---------------------------------------------------------------------


@dataclass
class LinkCheck:
    assignment: CrewAssignment | None = None
    refusal: str = ""
    user: Any = None
    from_token: bool = False


def _assignments() -> Any:
    return CrewAssignment.objects.select_related("booking__boat", "member__user")


def _decode(token: str) -> tuple[Any, bytes, bytes, int | None, bytes] | None:
    """Split a v2 token into (user pk, pk bytes, timestamp bytes, age, signature); None if garbled."""
    try:
        raw = token.encode()
        data = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
        pk, rest = packers.packer.unpack_pk(data)
        pk_bytes = data[: len(data) - len(rest)]
        age, signature = tokens_v2.unpack_timestamp(rest)
        stamp = rest[: len(rest) - len(signature)]
    except Exception:
        return None
    if len(signature) != sesame_settings.SIGNATURE_SIZE:
        return None
    return pk, pk_bytes, stamp, age, signature


def _diagnose(decoded: tuple, user: Any, booking_id: int, here: CrewAssignment | None) -> str:
    """Name the reason a token that sesame rejected is refused (for the page, not for security).

    From what the database and the token's unsigned timestamp say, with no signature check
    of its own: refusing a forged token costs no more than checking a valid one (one
    signature, in ``get_user``), however many charters its member has. So a genuine link of
    another charter opened at this charter's URL (an edited URL) reads as altered.
    """
    age = decoded[3]
    if not user.is_active:
        return Refusal.REVOKED
    if age is not None and age > sesame_settings.MAX_AGE:
        return Refusal.EXPIRED
    if here is not None:
        return Refusal.REVOKED if here.link_generation > 0 else Refusal.TAMPERED
    if Notification.objects.filter(booking_id=booking_id, member__user=user).exists():
        return Refusal.REVOKED  # was on this charter and has been removed from it
    if CrewAssignment.objects.filter(member__user=user).exclude(booking_id=booking_id).exists():
        return Refusal.WRONG_CHARTER
    return Refusal.TAMPERED


def _check_token(request: HttpRequest, token: str, booking_id: int) -> LinkCheck:
    decoded = _decode(token)
    if decoded is None:
        return LinkCheck(refusal=Refusal.TAMPERED)
    assignment = _assignments().filter(booking_id=booking_id, member__user_id=decoded[0]).first()
    if assignment is not None:
        user = get_user(token, scope=crew_link_scope(assignment), update_last_login=False)
        if user is not None:
            if timezone.now() > crew_link_expires_at(assignment.booking):
                return LinkCheck(refusal=Refusal.EXPIRED)
            if not assignment.member.active:
                return LinkCheck(refusal=Refusal.REVOKED)
            return LinkCheck(assignment=assignment, user=user, from_token=True)
        owner = assignment.member.user
    else:
        from django.contrib.auth import get_user_model

        owner = get_user_model().objects.filter(pk=decoded[0]).first()
        if owner is None:
            return LinkCheck(refusal=Refusal.TAMPERED)
    return LinkCheck(refusal=_diagnose(decoded, owner, booking_id, assignment))


def _check_session(request: HttpRequest, booking_id: int) -> LinkCheck:
    granted = request.session.get(SESSION_KEY, {}).get(str(booking_id))
    if not granted or not request.user.is_authenticated:
        return LinkCheck(refusal=Refusal.MISSING)
    assignment_pk, generation = granted
    assignment = (
        _assignments()
        .filter(pk=assignment_pk, booking_id=booking_id, member__user=request.user)
        .first()
    )
    if assignment is None or assignment.link_generation != generation:
        return LinkCheck(refusal=Refusal.REVOKED)
    if not assignment.member.active:
        return LinkCheck(refusal=Refusal.REVOKED)
    if timezone.now() > crew_link_expires_at(assignment.booking):
        return LinkCheck(refusal=Refusal.EXPIRED)
    return LinkCheck(assignment=assignment, user=request.user)


def crew_link_check(request: HttpRequest, booking_id: int) -> LinkCheck:
    """Who may open this booking's crew page from this request, or why nobody may. Reads only."""
    token = request.GET.get(sesame_settings.TOKEN_NAME)
    if token:
        return _check_token(request, token, booking_id)
    return _check_session(request, booking_id)


def crew_link_refused(request: HttpRequest, reason: str) -> HttpResponse:
    """The refusal page: what went wrong and what to do, with no charter data at all."""
    response = render(
        request,
        "crew/link_refused.html",
        {"reason": reason, "message": Refusal.MESSAGES[reason]},
        status=403,
    )
    add_never_cache_headers(response)
    return response


def _grant(request: HttpRequest, check: LinkCheck) -> None:
    """Log the member in and remember that this device may open this booking (and only these)."""
    assignment = check.assignment
    if not (request.user.is_authenticated and request.user.pk == check.user.pk):
        login(request, check.user)  # flushes another user's session, keeps this user's grants
    grants = dict(request.session.get(SESSION_KEY, {}))
    grants[str(assignment.booking_id)] = [assignment.pk, assignment.link_generation]
    request.session[SESSION_KEY] = grants


def crew_link_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open the view only for the crew member a valid link or session names for this booking."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        booking_id = int(kwargs["booking_id"])
        check = crew_link_check(request, booking_id)
        if check.assignment is None:
            log.info("crew link refused for booking %s: %s", booking_id, check.refusal)
            return crew_link_refused(request, check.refusal)
        if check.from_token:
            _grant(request, check)
            if request.method in ("GET", "HEAD"):
                query = request.GET.copy()
                query.pop(sesame_settings.TOKEN_NAME, None)
                url = request.path + (f"?{query.urlencode()}" if query else "")
                response = HttpResponseRedirect(url)
                add_never_cache_headers(response)
                return response
        request.crew_assignment = check.assignment
        request.crew_member = check.assignment.member
        return view(request, *args, **kwargs)

    return wrapper
