"""Guest page endpoints: the page itself on the embedded default, and the photo drop's API.

The photo drop is called cross-origin from the published page (S3/CloudFront), so these
views answer CORS for exactly ``CHARTEROPS_GUEST_PAGE_ORIGIN`` and use no cookies (no CSRF):
the unguessable page id, the booking's window and the rate limits are what guard them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
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
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from bookings.photos.uploads import UploadRefused

from .manifest import (
    ManifestRefused,
    guest_forms_window_check,
    manifest_contact_set,
    manifest_entries,
    manifest_entry_add,
    manifest_entry_remove,
    waiver_sign,
    waiver_text_current,
)
from .models import GuestPage, Manifest, ManifestEntry
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


# --- The party's manifest and waivers: plain HTML forms served by the app ----------------
#
# Reached by a link from the published page (another origin in production): navigation,
# not fetch, so they work without JavaScript. No cookies (no CSRF token): a POST whose
# Origin is neither this app nor the guest-page origin is refused; the page id (and, to
# sign, the person's share token) is what grants access, inside the booking's window and the
# rate limits, as for the photo drop.


def _client_ip(request: HttpRequest) -> str | None:
    key = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR"
    value = request.META.get(key, "") or request.META.get("REMOTE_ADDR", "")
    return value.split(",")[0].strip() or None


def _form_origin_ok(request: HttpRequest) -> bool:
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return True  # old browsers send none; the token is the guard, as for the photo drop
    from .publishing import _origin

    return origin in (_origin(settings.SITE_URL), settings.CHARTEROPS_GUEST_PAGE_ORIGIN)


def _guest_html(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200):
    from django.shortcuts import render

    response = render(
        request,
        template,
        {**context, "style": mark_safe(render_to_string("guestpages/guest_page.css"))},  # noqa: S308 (our own stylesheet)
        status=status,
    )
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    return _cors(request, response)


def _closed(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return _guest_html(request, "guestpages/party_closed.html", {"message": message}, status)


def guest_form_endpoint(group: str) -> Callable:
    """Wrap a party form view: origin check, rate limits on POST, page lookup, window."""

    def decorate(handler: Callable[..., HttpResponse]) -> Callable:
        @csrf_exempt  # no cookies are read or set; see the comment above
        @require_http_methods(["GET", "POST"])
        def view(request: HttpRequest, page_id: str, **kwargs: Any) -> HttpResponse:
            if request.method == "POST":
                if not _form_origin_ok(request):
                    return _closed(
                        request, "This form may only be sent from your charter page.", 403
                    )
                if _rate_limited(request, group):
                    response = _closed(
                        request, "Too many tries at once; please wait a minute and try again.", 429
                    )
                    response["Retry-After"] = "60"
                    return response
            page = GuestPage.objects.select_related("booking__boat").filter(page_id=page_id).first()
            if page is None:
                raise Http404("No such page.")
            try:
                guest_forms_window_check(page.booking)
            except UploadRefused as exc:
                return _closed(request, str(exc), 403)
            return handler(request, page, **kwargs)

        return view

    return decorate


def _party_context(page: GuestPage, **extra: Any) -> dict[str, Any]:
    booking = page.booking
    entries = manifest_entries(booking)
    base = f"{settings.SITE_URL}/g/{page.page_id}/party"
    return {
        "booking": booking,
        "page": page,
        "entries": [(e, f"{base}/{e.token}") for e in entries],
        "signed": sum(1 for e in entries if hasattr(e, "waiver")),
        "room": max(booking.party_size - len(entries), 0),
        "manifest": Manifest.objects.filter(booking=booking).first(),
        "action": f"/g/{page.page_id}/party",
        **extra,
    }


@guest_form_endpoint("guestpages.party")
def guest_party(request: HttpRequest, page: GuestPage) -> HttpResponse:
    """The party's list: add names (up to the party size), set the emergency contact."""
    if request.method == "GET":
        return _guest_html(request, "guestpages/party.html", _party_context(page))
    form = request.POST.get("form", "")
    values = {k: request.POST.get(k, "")[:1000] for k in ("full_name", "name", "phone")}
    try:
        if form == "contact":
            manifest_contact_set(page.booking, name=values["name"], phone=values["phone"])
            done = "The emergency contact is saved."
        elif form == "remove":
            name = manifest_entry_remove(page.booking, token=request.POST.get("token", ""))
            done = f"{name} is off the list."
        else:
            entry = manifest_entry_add(page.booking, full_name=values["full_name"])
            done = f"{entry.full_name} is on the list."
    except ManifestRefused as exc:
        context = _party_context(page, error=str(exc), error_form=form or "entry", values=values)
        return _guest_html(request, "guestpages/party.html", context, status=400)
    return _guest_html(request, "guestpages/party.html", _party_context(page, done=done))


def _parse_date(value: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ManifestRefused(
            "The date of birth is not a date we can read; use the date picker or YYYY-MM-DD."
        ) from None


@guest_form_endpoint("guestpages.sign")
def guest_waiver_sign(request: HttpRequest, page: GuestPage, token: str) -> HttpResponse:
    """One person's waiver, from their share link: read it, confirm age, type the name, sign."""
    entry = (
        ManifestEntry.objects.select_related("booking__boat")
        .filter(booking=page.booking, token=token, removed_at__isnull=True)
        .first()
    )
    if entry is None:
        raise Http404("No such person on this charter.")
    text = waiver_text_current()
    context: dict[str, Any] = {
        "booking": page.booking,
        "page": page,
        "entry": entry,
        "text": text,
        "paragraphs": [p for p in text.body.split("\n\n") if p.strip()],
        "signature": getattr(entry, "waiver", None) if hasattr(entry, "waiver") else None,
        "action": f"/g/{page.page_id}/party/{entry.token}",
        "party_url": f"/g/{page.page_id}/party",
    }
    if request.method == "GET" or context["signature"] is not None:
        return _guest_html(request, "guestpages/sign.html", context)
    keys = ("signed_name", "age", "date_of_birth", "guardian_name", "accept")
    values = {k: request.POST.get(k, "")[:1000] for k in keys}
    try:
        signature = waiver_sign(
            entry,
            signed_name=values["signed_name"],
            over_18=values["age"] == "adult",
            date_of_birth=_parse_date(values["date_of_birth"]),
            guardian_name=values["guardian_name"] if values["age"] == "minor" else "",
            accepted=values["accept"] == "yes",
            ip=_client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except ManifestRefused as exc:
        return _guest_html(
            request, "guestpages/sign.html", {**context, "error": str(exc), "values": values}, 400
        )
    return _guest_html(request, "guestpages/sign.html", {**context, "signature": signature})
