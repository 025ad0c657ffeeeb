"""Rendering and publishing a booking's guest page to the guest-pages storage (S3 or local)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.template.loader import render_to_string
from django.utils import timezone

from bookings.models import Booking
from charterops.fanout.targets import SyncResult

from .models import GuestPage


def guest_page_key(page: GuestPage) -> str:
    return f"g/{page.page_id}.html"


def guest_page_render(page: GuestPage) -> str:
    """The page's HTML: the confirmation while the booking is live, a notice once it is not."""
    booking = page.booking
    template = (
        "guestpages/guest_page.html" if booking.is_live else "guestpages/guest_page_cancelled.html"
    )
    return render_to_string(
        template,
        {
            "booking": booking,
            "page": page,
            "presign_url": f"{settings.SITE_URL}/g/{page.page_id}/presign",
        },
    )


def guest_page_publish(booking: Booking) -> GuestPage:
    """Write the page when its content changed. Idempotent: unchanged content writes nothing."""
    page, _ = GuestPage.objects.get_or_create(booking=booking)
    page.booking = booking
    html = guest_page_render(page)
    digest = hashlib.sha256(html.encode()).hexdigest()
    if digest != page.content_hash:
        storage = storages["guestpages"]
        storage.save(guest_page_key(page), ContentFile(html.encode()))
        page.content_hash = digest
        page.published_at = timezone.now()
        page.public_url = f"{settings.SITE_URL}/g/{page.page_id}"
    page.status = GuestPage.Status.PUBLISHED if booking.is_live else GuestPage.Status.CANCELLED
    page.save()
    return page


class GuestPageTarget:
    name = "guest_page"

    def sync(self, booking: Booking, *, state) -> SyncResult:
        if not booking.is_live and not GuestPage.objects.filter(booking=booking).exists():
            return SyncResult(skipped=True)
        page = guest_page_publish(booking)
        return SyncResult(external_ref=guest_page_key(page), detail={"hash": page.content_hash})
