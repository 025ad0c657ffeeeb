"""Guest page endpoints: the page itself on the embedded default, and the photo drop's API.

The photo drop is called cross-origin from the published page (S3/CloudFront), so these
views answer CORS for exactly ``CHARTEROPS_GUEST_PAGE_ORIGIN`` and use no cookies (no CSRF):
the unguessable page id, the booking's window and the rate limits are what guard them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.storage import storages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from charterops.uploads import UploadRefused

from .models import GuestPage
from .photos import guest_photo_confirm, guest_photo_grant
from .publishing import guest_page_key

MAX_JSON_BYTES = 4096


@require_GET
def guest_page_serve(request: HttpRequest, page_id: str) -> HttpResponse:
    """The published file, at the clean URL the CloudFront function gives it in production."""
    page = GuestPage.objects.filter(page_id=page_id.lower()).first()
    storage = storages["guestpages"]
    if page is None or not storage.exists(guest_page_key(page)):
        raise Http404("No such page.")
    with storage.open(guest_page_key(page)) as fh:
        response = HttpResponse(fh.read(), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = settings.CHARTEROPS_GUEST_PAGE_CACHE_CONTROL
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def guest_page_slash(request: HttpRequest, page_id: str) -> HttpResponse:
    return HttpResponsePermanentRedirect(f"/g/{page_id}")


def _cors(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin")
    if origin and origin == settings.CHARTEROPS_GUEST_PAGE_ORIGIN:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    return response


def _error(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return _cors(request, JsonResponse({"error": message}, status=status))


def _page_key(group: str, request: HttpRequest) -> str:
    return request.resolver_match.kwargs["page_id"]


def _rate_limited(request: HttpRequest, group: str) -> bool:
    """Count this request against the page's and the address's budgets (both always count)."""
    per_page = is_ratelimited(
        request,
        group=f"{group}.page",
        key=_page_key,
        rate=settings.CHARTEROPS_GUEST_PHOTO_RATE_PER_PAGE,
        method=is_ratelimited.ALL,
        increment=True,
    )
    per_address = is_ratelimited(
        request,
        group=f"{group}.address",
        key="ip",
        rate=settings.CHARTEROPS_GUEST_PHOTO_RATE_PER_ADDRESS,
        method=is_ratelimited.ALL,
        increment=True,
    )
    return per_page or per_address


def photo_drop_endpoint(group: str) -> Callable:
    """Wrap a photo-drop view: preflight, origin check, rate limits, JSON body, page lookup."""

    def decorate(
        handler: Callable[[GuestPage, dict[str, Any]], tuple[dict[str, Any], int]],
    ) -> Callable:
        @csrf_exempt  # cross-origin JSON API without cookies; see the module docstring
        @require_http_methods(["POST", "OPTIONS"])
        def view(request: HttpRequest, page_id: str) -> HttpResponse:
            origin = request.headers.get("Origin")
            if origin and origin != settings.CHARTEROPS_GUEST_PAGE_ORIGIN:
                return _error(request, "This page may not upload photos here.", 403)
            if request.method == "OPTIONS":
                response = _cors(request, HttpResponse(status=204))
                if origin:
                    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
                    response["Access-Control-Allow-Headers"] = "Content-Type"
                return response
            if _rate_limited(request, group):
                response = _error(
                    request, "Too many uploads at once; please wait a little and try again.", 429
                )
                response["Retry-After"] = "60"
                return response
            if len(request.body) > MAX_JSON_BYTES:
                return _error(request, "The request is too large.", 413)
            try:
                data = json.loads(request.body or b"{}")
            except ValueError:
                data = None
            if not isinstance(data, dict):
                return _error(request, "Send a JSON object.", 400)
            page = (
                GuestPage.objects.select_related("booking", "booking__boat")
                .filter(page_id=page_id)
                .first()
            )
            if page is None:
                return _error(request, "No such page.", 404)
            try:
                body, status = handler(page, data)
            except UploadRefused as exc:
                return _error(request, str(exc), 403)
            return _cors(request, JsonResponse(body, status=status))

        return view

    return decorate


@photo_drop_endpoint("guestpages.presign")
def guest_photo_presign(page: GuestPage, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``{"filename", "content_type", "size"}`` → ``{"url", "fields", "key"}``: POST there."""
    try:
        size = int(data.get("size") or 0)
    except (TypeError, ValueError):
        raise UploadRefused("The file size is missing.") from None
    grant = guest_photo_grant(
        page,
        filename=str(data.get("filename") or "photo"),
        content_type=str(data.get("content_type") or ""),
        size=size,
    )
    return grant, 200


@photo_drop_endpoint("guestpages.confirm")
def guest_photo_confirm_view(page: GuestPage, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``{"key"}`` after the upload → 201 once the photo is found and recorded."""
    photo = guest_photo_confirm(page, key=str(data.get("key") or ""))
    return {"ok": True, "key": photo.key}, 201
