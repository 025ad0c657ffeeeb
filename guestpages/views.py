"""Serving guest pages from local storage on the embedded default (S3 serves them in production)."""

from __future__ import annotations

from django.core.files.storage import storages
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from .models import GuestPage
from .publishing import guest_page_key


@require_GET
def guest_page_serve(request: HttpRequest, page_id: str) -> HttpResponse:
    page = GuestPage.objects.filter(page_id=page_id.lower().rstrip("/")).first()
    storage = storages["guestpages"]
    if page is None or not storage.exists(guest_page_key(page)):
        raise Http404("No such page.")
    with storage.open(guest_page_key(page)) as fh:
        response = HttpResponse(fh.read(), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "public, max-age=60"
    response["X-Robots-Tag"] = "noindex"
    return response
