"""The guest page's photo drop: who may upload, and when, through ``bookings.photos.uploads``."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urljoin

from django.conf import settings
from django.utils import timezone

from bookings.models import Booking
from bookings.photos.uploads import (
    GRANT_SECONDS,
    UploadRefused,
    photo_upload_confirm,
    photo_upload_grant,
    upload_window,
)

from .models import GuestPage


class PhotoDropClosed(UploadRefused):
    """The booking is not (or no longer) taking guest photos; the message is for the guest."""


def guest_photo_window_check(booking: Booking, *, now: datetime | None = None) -> None:
    """Raise ``PhotoDropClosed`` unless the booking is live and within 7 days after the charter."""
    now = now or timezone.now()
    if booking.is_ended:
        raise PhotoDropClosed("This charter was cancelled, so the photo drop is closed.")
    if not booking.is_live:
        raise PhotoDropClosed("The photo drop opens once your charter is confirmed.")
    closes = booking.end + upload_window("guest")
    if now > closes:
        closes_local = timezone.localtime(closes).strftime("%B %-d")
        raise PhotoDropClosed(
            f"The photo drop for this charter closed on {closes_local}. Thank you for sailing "
            "with us!"
        )


def guest_photo_grant(
    page: GuestPage, *, filename: str, content_type: str, size: int
) -> dict[str, object]:
    """A presigned POST for one guest photo (its exact type and size, ``photos/<booking>/guest/``).

    Changes nothing; every call is a new key. Raises ``UploadRefused`` (or its
    ``PhotoDropClosed``) with a message for the guest.
    """
    booking = page.booking
    guest_photo_window_check(booking)
    grant = photo_upload_grant(
        booking, uploader="guest", filename=filename, content_type=content_type, size=size
    )
    # The local store answers with a path on this app; the page may live on another origin.
    grant["url"] = urljoin(f"{settings.SITE_URL}/", grant["url"])
    return grant


def guest_photo_confirm(page: GuestPage, *, key: str):
    """Record the guest's photo once it decodes as one (GPS removed). Idempotent per key.

    A grant handed out just before the window closed may still be confirmed for its lifetime.
    """
    booking = page.booking
    guest_photo_window_check(booking, now=timezone.now() - timedelta(seconds=GRANT_SECONDS))
    return photo_upload_confirm(booking, key=key, uploader="guest")
