"""The S3 storage of guest pages: every page is stored as UTF-8 HTML with a short cache life."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from storages.backends.s3 import S3Storage

GUEST_PAGE_CONTENT_TYPE = "text/html; charset=utf-8"


def guest_page_object_parameters(name: str) -> dict[str, Any]:
    """S3 object parameters of a guest page: content type with charset, short Cache-Control.

    The cache life is short so that a browser holding an old copy sees a change (new time,
    cancellation) within a minute or so even where the CDN was already invalidated.
    """
    if not name.endswith(".html"):
        return {}
    return {
        "ContentType": GUEST_PAGE_CONTENT_TYPE,
        "CacheControl": settings.CHARTEROPS_GUEST_PAGE_CACHE_CONTROL,
    }


class GuestPageStorage(S3Storage):
    """``S3Storage`` that writes guest pages with the parameters above."""

    def get_object_parameters(self, name: str) -> dict[str, Any]:
        params = super().get_object_parameters(name)
        for key, value in guest_page_object_parameters(name).items():
            params.setdefault(key, value)
        return params
