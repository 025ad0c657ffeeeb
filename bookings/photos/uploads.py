"""Photo uploads for crew and guests: grant a direct upload, confirm it, show it.

The browser sends the file straight to the store (S3 by presigned POST, or the app's own
signed local endpoint on the embedded default) and then tells CharterOps. Every grant is
recorded (``PhotoGrant``); a confirmation accepts only a granted, unexpired key, once, and
only once the object's bytes decode as a photo (``charterops.images``); anything else is
deleted. Guest photos lose their GPS metadata; crew photos are kept as they are. Grants
that expire unconfirmed have their objects removed by ``photo_grants_sweep``.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from charterops.audit import audit_log
from charterops.images import (
    ACCEPTED_TYPES,
    NotAnImage,
    image_inspect,
    image_sniff,
    image_without_location,
)
from charterops.integrations.s3 import ObjectStore, object_store

from ..models import Booking
from .models import Photo, PhotoGrant

logger = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 25 * 1024 * 1024
#: the presigned policy's life: the upload must start within it.
GRANT_SECONDS = 5 * 60
#: a confirmation is accepted this long after the grant expires (a slow upload's tail).
CONFIRM_GRACE_SECONDS = 10 * 60
#: the stored size may differ from the declared one by this much (either way).
SIZE_MARGIN_BYTES = 4096
SNIFF_BYTES = 64 * 1024
VIEW_SECONDS = 15 * 60
UPLOADERS = ("crew", "guest")
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
}


def upload_window(uploader: str) -> timedelta:
    """How long after the charter each kind of uploader may still add photos.

    Crew follow their magic links' window (``CHARTEROPS_CREW_LINK_DAYS_AFTER``): a member
    whose link stopped working cannot upload either.
    """
    if uploader == "crew":
        return timedelta(days=settings.CHARTEROPS_CREW_LINK_DAYS_AFTER)
    return timedelta(days=7)


class UploadRefused(Exception):
    """An upload that cannot be granted or confirmed; the message is shown to the person."""


def photo_key_prefix(booking: Booking, uploader: str) -> str:
    return f"photos/{booking.pk}/{uploader}/"


def _member_part(member) -> str:
    return f"m{member.pk}-" if member is not None else ""


def _safe_name(filename: str, content_type: str) -> str:
    """A short, URL-safe version of the person's file name with the granted type's extension.

    The extension decides how the local endpoint serves the file: never trust the person's
    (a "photo.html" must not come back as a page); it comes from the granted type.
    """
    path = PurePosixPath(filename.replace("\\", "/")).name
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", PurePosixPath(path).stem).strip("-")[:40] or "photo"
    return f"{stem}{_EXTENSIONS[content_type]}"


def _check_uploader(booking: Booking, uploader: str, member) -> None:
    if uploader not in UPLOADERS:
        raise UploadRefused("Unknown uploader.")
    if uploader == "crew" and member is None:
        raise UploadRefused("Crew photos need the crew member.")
    if booking.is_ended:
        raise UploadRefused("This charter was cancelled; photos are closed.")
    if timezone.now() > booking.end + upload_window(uploader):
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
    """A short-lived grant to upload one photo of ``booking``, recorded as a ``PhotoGrant``.

    Returns ``{"url", "fields", "key", "expires_at"}``: POST ``fields`` then the file as
    ``file`` to ``url``. The policy pins the key, the exact Content-Type granted and the
    declared size (within ``SIZE_MARGIN_BYTES``), and expires in ``GRANT_SECONDS``. Every
    call is a new key and a new row. Raises ``UploadRefused`` for a type that is not a
    photo, an empty or oversized file, or a closed charter.
    """
    _check_uploader(booking, uploader, member)
    content_type = ACCEPTED_TYPES.get((content_type or "").strip().lower())
    if content_type is None:
        raise UploadRefused("Only photos can be uploaded (JPEG, PNG, WebP, HEIC).")
    try:
        size = int(size or 0)
    except (TypeError, ValueError):
        size = 0
    if size <= 0:
        raise UploadRefused("The file is empty.")
    if size > MAX_PHOTO_BYTES:
        raise UploadRefused("That photo is larger than 25 MB.")
    key = (
        photo_key_prefix(booking, uploader)
        + _member_part(member)
        + uuid.uuid4().hex[:16]
        + "-"
        + _safe_name(filename, content_type)
    )
    expires_at = timezone.now() + timedelta(seconds=GRANT_SECONDS)
    store = store or object_store()
    grant = store.presigned_post(
        key=key,
        content_type=content_type,
        min_bytes=max(1, size - SIZE_MARGIN_BYTES),
        max_bytes=min(MAX_PHOTO_BYTES, size + SIZE_MARGIN_BYTES),
        expires_in=GRANT_SECONDS,
    )
    PhotoGrant.objects.create(
        booking=booking,
        uploaded_by=uploader,
        member=member,
        key=key,
        content_type=content_type,
        size=size,
        expires_at=expires_at,
    )
    return {
        "url": grant["url"],
        "fields": dict(grant["fields"]),
        "key": key,
        "expires_at": expires_at.isoformat(),
    }


def _grant_claim(booking: Booking, *, key: str, uploader: str, member):
    """Take the grant of ``key`` for checking (one conditional UPDATE), or say why not.

    Returns ``(grant, photo)``: the claimed grant, or the Photo a previous confirmation
    recorded (confirming again is idempotent). A grant left "checking" by a request that
    died is claimable again after a minute.
    """
    grant = PhotoGrant.objects.filter(
        key=key, booking=booking, uploaded_by=uploader, member=member
    ).first()
    if grant is None:
        raise UploadRefused("That upload does not belong to this charter.")
    if grant.status == PhotoGrant.Status.CONFIRMED:
        photo = Photo.objects.filter(key=key).first()
        if photo is not None:
            return None, photo
    now = timezone.now()
    if now > grant.expires_at + timedelta(seconds=CONFIRM_GRACE_SECONDS):
        raise UploadRefused("This upload expired; please try again.")
    claimed = PhotoGrant.objects.filter(
        Q(status=PhotoGrant.Status.GRANTED)
        | Q(status=PhotoGrant.Status.CHECKING, claimed_at__lt=now - timedelta(minutes=1)),
        pk=grant.pk,
    ).update(status=PhotoGrant.Status.CHECKING, claimed_at=now)
    if not claimed:
        grant.refresh_from_db()
        if grant.status == PhotoGrant.Status.CHECKING:
            raise UploadRefused("This photo is being checked; please wait a moment.")
        raise UploadRefused("This upload was already used; please try again.")
    grant.status, grant.claimed_at = PhotoGrant.Status.CHECKING, now
    return grant, None


def _verified_bytes(grant, store: ObjectStore) -> tuple[bytes, object]:
    """The object's bytes once they decode as the granted photo; deletes and refuses otherwise."""
    head = store.read(grant.key, max_bytes=SNIFF_BYTES)
    if head is None:
        raise _Missing()
    try:
        if image_sniff(head) != grant.content_type:
            raise NotAnImage(f"not {grant.content_type}")
        data = head
        if len(head) == SNIFF_BYTES:
            data = store.read(grant.key, max_bytes=MAX_PHOTO_BYTES + 1) or b""
        if not grant.size - SIZE_MARGIN_BYTES <= len(data) <= grant.size + SIZE_MARGIN_BYTES:
            raise NotAnImage("size differs from the grant")
        facts = image_inspect(data)
    except NotAnImage as exc:
        store.delete(grant.key)
        logger.warning(
            "photo refused: not a photo",
            extra={"booking_id": grant.booking_id, "reason": str(exc)[:80]},
        )
        raise
    return data, facts


class _Missing(Exception):
    """Nothing was stored at the granted key (yet)."""


def photo_upload_confirm(
    booking: Booking, *, key: str, uploader: str, member=None, store: ObjectStore | None = None
):
    """Record the ``Photo`` at a granted ``key`` once its bytes decode as the granted photo.

    Follows the claim discipline: the grant is claimed with one conditional UPDATE, the
    store is read and the bytes decoded with Pillow outside any transaction, and the Photo
    is recorded (with its audit row) in one transaction under the claim. Anything that is
    not a JPEG/PNG/WebP/HEIC of the granted type and size is deleted and refused; guest
    photos are rewritten without GPS metadata. Idempotent: confirming the same key again
    returns the same Photo.
    """
    if uploader not in UPLOADERS:
        raise UploadRefused("Unknown uploader.")
    grant, existing = _grant_claim(booking, key=key or "", uploader=uploader, member=member)
    if existing is not None:
        return existing
    store = store or object_store()
    try:
        data, facts = _verified_bytes(grant, store)
    except _Missing:
        PhotoGrant.objects.filter(pk=grant.pk, claimed_at=grant.claimed_at).update(
            status=PhotoGrant.Status.GRANTED
        )
        raise UploadRefused("The photo did not arrive; please try again.") from None
    except NotAnImage:
        PhotoGrant.objects.filter(pk=grant.pk).update(status=PhotoGrant.Status.REFUSED)
        raise UploadRefused("That file is not a photo (JPEG, PNG, WebP or HEIC).") from None
    if uploader == "guest" and facts.has_location:
        data = image_without_location(data)
        store.put(grant.key, data, content_type=facts.content_type)
    else:
        store.mark_confirmed(grant.key)
    taken_at = facts.taken_at
    if taken_at is not None:
        taken_at = timezone.make_aware(taken_at) if timezone.is_naive(taken_at) else taken_at
    try:
        with transaction.atomic():
            photo = Photo.objects.create(
                booking=booking,
                uploaded_by=uploader,
                member=member,
                key=grant.key,
                content_type=facts.content_type,
                size=len(data),
                taken_at=taken_at,
            )
            PhotoGrant.objects.filter(pk=grant.pk).update(status=PhotoGrant.Status.CONFIRMED)
            audit_log(
                "crew.photo.uploaded",
                photo,
                actor=getattr(member, "user", None) or uploader,
                booking=booking,
                data={"uploader": uploader, "size": len(data), "type": facts.content_type},
            )
    except IntegrityError:
        # Two confirmations of one key raced past a stale claim; the other one recorded it.
        return Photo.objects.get(key=grant.key)
    return photo


def photo_grants_sweep(*, now=None, store: ObjectStore | None = None) -> int:
    """Delete the objects of grants that expired unconfirmed; returns how many. Idempotent.

    Run by beat (``bookings.photo_grants_sweep``). Deleting a key nothing was uploaded to
    is harmless, so a grant is marked swept only after its delete succeeded; a failure
    leaves it for the next run.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=CONFIRM_GRACE_SECONDS)
    store = store or object_store()
    swept = 0
    open_states = [PhotoGrant.Status.GRANTED, PhotoGrant.Status.CHECKING]
    for grant in PhotoGrant.objects.filter(status__in=open_states, expires_at__lt=cutoff)[:500]:
        store.delete(grant.key)
        swept += PhotoGrant.objects.filter(pk=grant.pk, status__in=open_states).update(
            status=PhotoGrant.Status.SWEPT
        )
    return swept


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
