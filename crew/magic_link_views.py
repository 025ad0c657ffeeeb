"""Crew magic links over HTTP: the ``@crew_link_required`` decorator, session grants, refusal page.

``@crew_link_required``
    Decorator for every crew page. The view must take the ``booking_id`` URL kwarg. It
    accepts either a ``?sesame=`` link token (first visit from the message; checked by
    ``crew.magic_links.crew_link_check``) or the session that a previous visit left for that
    booking, then sets:

    - ``request.crew_assignment``: the member's ``CrewAssignment`` on this booking, with
      ``booking``, ``booking.boat``, ``member`` and ``member.user`` already selected;
    - ``request.crew_member``: the ``CrewMember``.

    A GET with a valid token logs the member in (for that booking only: the session remembers
    which bookings the device may open) and redirects to the same URL without the token, so the
    token leaves the address bar, the history and any access log after the first hop. Anything
    else renders ``crew/link_refused.html`` with status 403 and a reason (``expired``,
    ``revoked``, ``wrong_charter``, ``tampered``, ``missing``), never any charter data.

``SESSION_KEY``
    The session entry ``{"<booking id>": [assignment id, generation]}`` listing the charters
    this device may open (read it, e.g. to list them; only the decorator writes it).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from .magic_links import (
    LinkCheck,
    Refusal,
    crew_assignments,
    crew_link_assignment_refusal,
    crew_link_check,
)

__all__ = ["SESSION_KEY", "crew_link_refused", "crew_link_required"]

log = logging.getLogger("crew.magic_links")

SESSION_KEY = "crew_links"


def _token_name() -> str:
    return getattr(settings, "SESAME_TOKEN_NAME", "sesame")


def _check_session(request: HttpRequest, booking_id: int) -> LinkCheck:
    """Who the device's earlier grant for this booking opens it for, or why nobody. Reads only."""
    granted = request.session.get(SESSION_KEY, {}).get(str(booking_id))
    if not granted or not request.user.is_authenticated:
        return LinkCheck(refusal=Refusal.MISSING)
    assignment_pk, generation = granted
    assignment = (
        crew_assignments()
        .filter(pk=assignment_pk, booking_id=booking_id, member__user=request.user)
        .first()
    )
    if assignment is None or assignment.link_generation != generation:
        return LinkCheck(refusal=Refusal.REVOKED)
    refusal = crew_link_assignment_refusal(assignment)
    if refusal:
        return LinkCheck(refusal=refusal)
    return LinkCheck(assignment=assignment, user=request.user)


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
        token = request.GET.get(_token_name())
        check = crew_link_check(token, booking_id) if token else _check_session(request, booking_id)
        if check.assignment is None:
            log.info("crew link refused for booking %s: %s", booking_id, check.refusal)
            return crew_link_refused(request, check.refusal)
        if token:
            _grant(request, check)
            if request.method in ("GET", "HEAD"):
                query = request.GET.copy()
                query.pop(_token_name(), None)
                url = request.path + (f"?{query.urlencode()}" if query else "")
                response = HttpResponseRedirect(url)
                add_never_cache_headers(response)
                return response
        request.crew_assignment = check.assignment
        request.crew_member = check.assignment.member
        return view(request, *args, **kwargs)

    return wrapper
