"""The iCalendar feed endpoint: token in the URL, ETag for conditional GET, cached body."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_safe

from .feed import calendar_feed_get


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """GET/HEAD ``/calendar/<token>.ics``: 404 for an unknown or revoked token, 304 when the
    client's ETag still matches, else the calendar (rendered once per change, then cached).
    """
    feed = calendar_feed_get(token)
    if feed is None:
        raise Http404("No such calendar feed.")
    not_modified = get_conditional_response(request, etag=feed.etag)
    if not_modified is not None:
        _headers(not_modified)
        return not_modified
    response = HttpResponse(feed.body(), content_type="text/calendar; charset=utf-8")
    response["ETag"] = feed.etag
    response["Content-Disposition"] = 'inline; filename="charterops.ics"'
    _headers(response)
    return response


def _headers(response: HttpResponse) -> None:
    # private: the URL is a secret; a shared cache must not keep it for others.
    patch_cache_control(response, private=True, max_age=300)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
