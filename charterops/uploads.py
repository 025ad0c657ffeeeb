"""Photo uploads for crew and guests: grant a direct upload, confirm it, show it.

The browser sends the file straight to the store (S3 by presigned POST, or the app's own
signed local endpoint on the embedded default) and then tells CharterOps, which checks the
object really exists (HEAD) before recording a ``Photo``. Nothing here holds file bytes.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from datetime import timedelta
from pathlib import PurePosixPath

from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.models import Booking
from charterops.audit import audit_log
from charterops.integrations.s3 import ObjectStore, object_store

MAX_PHOTO_BYTES = 25 * 1024 * 1024
GRANT_SECONDS = 10 * 60
VIEW_SECONDS = 15 * 60
UPLOADERS = ("crew", "guest")
#: how long after the charter each kind of uploader may still add photos.
UPLOAD_WINDOW = {"guest": timedelta(days=7), "crew": timedelta(days=30)}
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "image/avif": ".avif",
}


class UploadRefused(Exception):
    """An upload that cannot be granted or confirmed; the message is shown to the person."""


def photo_key_prefix(booking: Booking, uploader: str) -> str:
    return f"photos/{booking.pk}/{uploader}/"


def _member_part(member) -> str:
    return f"m{member.pk}-" if member is not None else ""


def _safe_name(filename: str, content_type: str) -> str:
    """A short, URL-safe version of the person's file name with an image extension."""
    path = PurePosixPath(filename.replace("\\", "/")).name
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", PurePosixPath(path).stem).strip("-")[:40] or "photo"
    # The extension decides how the local endpoint serves the file: never trust the
    # person's (a "photo.html" must not come back as a page), derive it from the type.
    ext = _EXTENSIONS.get(content_type)
    if ext is None:
        own = PurePosixPath(path).suffix.lower()
        guessed = mimetypes.guess_type(f"x{own}")[0] or ""
        ext = own if _servable(guessed) else ".img"
    return f"{stem}{ext}"


def _servable(content_type: str) -> bool:
    """Images a browser can show without running anything (SVG can carry script)."""
    return content_type.startswith("image/") and "svg" not in content_type


def _check_uploader(booking: Booking, uploader: str, member) -> None:
    if uploader not in UPLOADERS:
        raise UploadRefused("Unknown uploader.")
    if uploader == "crew" and member is None:
        raise UploadRefused("Crew photos need the crew member.")
    if booking.is_ended:
        raise UploadRefused("This charter was cancelled; photos are closed.")
    if timezone.now() > booking.end + UPLOAD_WINDOW[uploader]:
        raise UploadRefused("Photo uploads for this charter have closed.")


def photo_upload_grant(
    booking: Booking,
    *,
    uploader: str,
    filename: str,
    content_type: str,
    size: int,
    member=None,
    store: ObjectStore | None = None,
) -> dict:
    """A short-lived, type- and size-limited grant to upload one photo of ``booking``.

    Returns ``{"url", "fields", "key"}``: POST ``fields`` then the file as ``file`` to
    ``url``. Changes nothing in the database; every call gives a new key. Raises
    ``UploadRefused`` for a non-image, an empty or oversized file, or a closed charter.
    """
    _check_uploader(booking, uploader, member)
    content_type = (content_type or "").strip().lower()
    if not _servable(content_type):
        raise UploadRefused("Only photos can be uploaded (JPEG, PNG, HEIC...).")
    if size is None or int(size) <= 0:
        raise UploadRefused("The file is empty.")
    if int(size) > MAX_PHOTO_BYTES:
        raise UploadRefused("That photo is larger than 25 MB.")
    key = (
        photo_key_prefix(booking, uploader)
        + _member_part(member)
        + uuid.uuid4().hex[:16]
        + "-"
        + _safe_name(filename, content_type)
    )
    store = store or object_store()
    grant = store.presigned_post(
        key=key, content_type=content_type, max_bytes=MAX_PHOTO_BYTES, expires_in=GRANT_SECONDS
    )
    return {"url": grant["url"], "fields": dict(grant["fields"]), "key": key}


def photo_upload_confirm(
    booking: Booking, *, key: str, uploader: str, member=None, store: ObjectStore | None = None
):
    """Record the ``Photo`` at ``key`` once the store says it exists. Idempotent.

    The key must lie under this booking's and uploader's prefix (and, for crew, carry the
    member's mark), and a HEAD must find it; an object that breaks the size or type limits
    is deleted and refused. Confirming the same key again returns the same Photo. One
    transaction, one audit row for a new Photo.
    """
    from crew.models import Photo

    if uploader not in UPLOADERS:
        raise UploadRefused("Unknown uploader.")
    prefix = photo_key_prefix(booking, uploader) + _member_part(member)
    if not key or not key.startswith(prefix) or ".." in key or "/" in key[len(prefix) :]:
        raise UploadRefused("That upload does not belong to this charter.")
    existing = Photo.objects.filter(key=key).first()
    if existing is not None:
        return existing
    store = store or object_store()
    info = store.head(key)
    if info is None:
        raise UploadRefused("The photo did not arrive; please try again.")
    if info.size > MAX_PHOTO_BYTES or not _servable(info.content_type):
        store.delete(key)
        raise UploadRefused("That file is not a photo of at most 25 MB.")
    try:
        with transaction.atomic():
            photo = Photo.objects.create(
                booking=booking,
                uploaded_by=uploader,
                member=member,
                key=key,
                content_type=info.content_type,
                size=info.size,
            )
            audit_log(
                "crew.photo.uploaded",
                photo,
                actor=getattr(member, "user", None) or uploader,
                booking=booking,
                data={"uploader": uploader, "size": info.size},
            )
    except IntegrityError:
        # Two confirmations of one key raced; the other one recorded it.
        return Photo.objects.get(key=key)
    return photo


def photo_view_url(photo, *, store: ObjectStore | None = None) -> str:
    """A URL showing the photo that expires (presigned GET on S3, signed local URL)."""
    store = store or object_store()
    return store.presigned_get(photo.key, expires_in=VIEW_SECONDS)


def photo_upload_direct(booking: Booking, *, uploader: str, file, member=None):
    """Store a photo sent to the app itself (forms without JavaScript), then confirm it.

    Same limits and key layout as a grant; the bytes pass through the app once, into the
    same store (the S3 bucket or local files). Not idempotent: each call stores a new object.
    """
    from django.core.files.storage import storages

    grant = photo_upload_grant(
        booking,
        uploader=uploader,
        filename=getattr(file, "name", "") or "photo",
        content_type=getattr(file, "content_type", "") or "",
        size=getattr(file, "size", 0) or 0,
        member=member,
        store=_NoGrantStore(),
    )
    storages["default"].save(grant["key"], file)
    return photo_upload_confirm(booking, key=grant["key"], uploader=uploader, member=member)


class _NoGrantStore:
    """Used by ``photo_upload_direct``: only the key and the checks of a grant are wanted."""

    def presigned_post(self, *, key: str, **_: object) -> dict:
        return {"url": "", "fields": {}}
