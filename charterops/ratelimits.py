"""Rate limits on every entry that is unauthenticated or authenticated by a token alone.

One table (``ENTRY_LIMITS``) says which views count against which per-address budget;
``EntryRateLimitMiddleware`` applies it before the view runs, so a flood of forged tokens
costs a cache increment, not a token check. Counters live in the shared cache
(``CACHE_URL``: Redis in production) through django-ratelimit, so every web worker shares
one budget. The guest photo drop and the webhook keep their own, finer limits (per page,
per source) in their views.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_ratelimit.core import is_ratelimited


@dataclass(frozen=True)
class EntryLimit:
    group: str
    #: counts only requests for which this is true (e.g. those carrying a magic-link token)
    applies: Callable[[HttpRequest], bool] = lambda request: True
    json: bool = False


def _has_sesame(request: HttpRequest) -> bool:
    return settings.SESAME_TOKEN_NAME in request.GET


#: view name (or URL namespace) -> its limit; rates are settings ``CHARTEROPS_RATE_LIMITS``.
ENTRY_LIMITS: dict[str, EntryLimit] = {
    "crew": EntryLimit("crew-link", applies=_has_sesame),  # every crew view, token checks
    "crew:scc_events": EntryLimit("scc-api", json=True),
    "api": EntryLimit("api-token", json=True),  # the JSON API (X-Dashboard-Token)
    "calendar-feed": EntryLimit("feed-token"),
    "uploads:local_upload": EntryLimit("local-upload"),
    "uploads:local_photo": EntryLimit("photo-view"),
    "guestpages:page": EntryLimit("guest-page"),
    "guestpages:party": EntryLimit("guest-form"),  # party list and waivers (plus their own)
    "guestpages:sign": EntryLimit("guest-form"),
    "guestpages": EntryLimit("guest-endpoint", json=True),  # presign, confirm (plus their own)
}


def entry_limit_for(view_name: str, namespaces: list[str]) -> EntryLimit | None:
    """The limit of a resolved view: its own name first, then its outermost namespace."""
    if view_name in ENTRY_LIMITS:
        return ENTRY_LIMITS[view_name]
    for namespace in namespaces[:1]:
        if namespace in ENTRY_LIMITS:
            return ENTRY_LIMITS[namespace]
    return None


def entry_rate_limited(request: HttpRequest, limit: EntryLimit) -> bool:
    """Count this request against its address's budget; True once the budget is spent."""
    rate = settings.CHARTEROPS_RATE_LIMITS[limit.group]
    return is_ratelimited(
        request, group=f"entry.{limit.group}", key="ip", rate=rate, increment=True
    )


def too_many(limit: EntryLimit) -> HttpResponse:
    message = "Too many requests from your address; please wait a minute and try again."
    if limit.json:
        response: HttpResponse = JsonResponse({"error": message}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "60"
    return response


class EntryRateLimitMiddleware:
    """Refuses (429) a request to a limited entry once its address spent the budget."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None:
            return None
        limit = entry_limit_for(match.view_name, match.namespaces)
        if limit is None or request.method == "OPTIONS" or not limit.applies(request):
            return None
        if entry_rate_limited(request, limit):
            return too_many(limit)
        return None
