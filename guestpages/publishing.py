"""Rendering a booking's guest page and publishing it to the guest-pages storage (S3 or local).

The page is one self-contained HTML file: inline CSS and JavaScript whose hashes are pinned
in a Content-Security-Policy meta tag, no outside resources. Publishing is gated by the
content hash: an unchanged page is neither uploaded nor invalidated again.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from bookings.models import Booking
from bookings.people import booking_captain
from charterops.audit import audit_log
from charterops.fanout.errors import classify
from charterops.fanout.targets import PermanentError, SyncResult, TargetError

from .integrations.cloudfront import CdnInvalidator, get_invalidator
from .models import GuestPage
from .storage import GUEST_PAGE_CONTENT_TYPE

if TYPE_CHECKING:
    from charterops.models import TargetState

#: A published page must stay small enough to load on a weak signal on the dock.
GUEST_PAGE_MAX_BYTES = 30 * 1024

WHAT_TO_BRING = [
    "Soft-soled, closed-toe shoes (no heels or black soles)",
    "A warm layer: it is cooler on the water than on the dock",
    "Sunscreen, sunglasses and a hat",
    "Photo ID for the adult who booked",
    "Food and drinks you'd like (no glass, please)",
]


def guest_page_key(page: GuestPage) -> str:
    return f"g/{page.page_id}.html"


def guest_page_paths(page: GuestPage) -> list[str]:
    """The CDN paths a guest can reach the page at: the clean URL and the object itself."""
    return [f"/g/{page.page_id}", f"/g/{page.page_id}.html"]


def guest_page_public_url(page: GuestPage) -> str:
    """Where a guest opens the page: the clean URL on the guest-pages domain, or the app's."""
    if settings.CHARTEROPS_STORAGE == "s3":
        if settings.GUEST_PAGES_CUSTOM_DOMAIN:
            return f"https://{settings.GUEST_PAGES_CUSTOM_DOMAIN}/g/{page.page_id}"
        # Without a domain (and its CloudFront rewrite) only the object URL itself works.
        return storages["guestpages"].url(guest_page_key(page))
    return f"{settings.SITE_URL}/g/{page.page_id}"


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _upload_origins() -> list[str]:
    """Where the page's script may send photos: the app (local uploads) and the photo bucket."""
    origins = [_origin(settings.SITE_URL)]
    if settings.CHARTEROPS_STORAGE == "s3":
        if settings.AWS_S3_ENDPOINT_URL:
            origins.append(_origin(settings.AWS_S3_ENDPOINT_URL))
        else:
            origins.append("https://*.amazonaws.com")
    return list(dict.fromkeys(origins))


def _content_security_policy(*, style: str, script: str | None) -> str:
    directives = [
        "default-src 'none'",
        f"style-src {_csp_hash(style)}",
        "img-src data: blob:",
        "base-uri 'none'",
        "form-action 'none'",
    ]
    if script is not None:
        directives.insert(1, f"script-src {_csp_hash(script)}")
        directives.append("connect-src " + " ".join(_upload_origins()))
    return "; ".join(directives)


def guest_page_calendar_stamp(page: GuestPage, booking: Booking) -> datetime:
    """When this version of the booking was first rendered: the calendar event's DTSTAMP.

    Taken once per booking version and kept on the page row, so a re-render of the same
    version gives the same bytes (no upload, no invalidation) while a new version carries a
    newer stamp. Writes one row the first time a version is rendered; idempotent after.
    """
    if page.calendar_version == booking.version and page.calendar_stamp is not None:
        return page.calendar_stamp
    stamp = timezone.now().replace(microsecond=0)
    if page.pk:
        GuestPage.objects.filter(pk=page.pk).update(
            calendar_version=booking.version, calendar_stamp=stamp
        )
    page.calendar_version, page.calendar_stamp = booking.version, stamp
    return stamp


def guest_page_calendar(booking: Booking, page: GuestPage) -> str:
    """The guest's "add to my calendar" event as an iCalendar document.

    ``SEQUENCE`` is the booking version and ``DTSTAMP`` the time of that version, so a
    calendar app that already has the event (same UID) replaces it with the new time
    instead of keeping the old one (RFC 5546: a higher sequence supersedes).
    """
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//CharterOps//Guest page//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"guest-{page.page_id}@charterops")
    event.add("dtstamp", guest_page_calendar_stamp(page, booking).astimezone(UTC))
    event.add("sequence", booking.version)
    event.add("dtstart", booking.start.astimezone(UTC))
    event.add("dtend", booking.end.astimezone(UTC))
    event.add("summary", f"Charter on {booking.boat.name}")
    event.add("location", booking.meeting_point or booking.boat.home_marina)
    event.add("description", f"Booking {booking.reference}. Please arrive 15 minutes early.")
    cal.add_component(event)
    return cal.to_ical().decode()


def guest_page_render(page: GuestPage) -> str:
    """The page's HTML: the confirmation while the booking is live, a notice once it is not.

    The notice carries no personal data: a cancelled guest's link may have been shared.
    """
    booking = page.booking
    style = render_to_string("guestpages/guest_page.css")
    if not booking.is_live:
        reason = "cancelled" if booking.is_ended else "unconfirmed"
        return render_to_string(
            "guestpages/guest_page_cancelled.html",
            {
                "reason": reason,
                "style": mark_safe(style),  # noqa: S308 (our own static stylesheet)
                "csp": _content_security_policy(style=style, script=None),
            },
        )
    script = render_to_string("guestpages/guest_page.js")
    place = booking.meeting_point or booking.boat.home_marina
    ics = guest_page_calendar(booking, page)
    return render_to_string(
        "guestpages/guest_page.html",
        {
            "booking": booking,
            "page": page,
            "captain": booking_captain(booking),  # crew answers (bookings.people)
            "place": place,
            "map_url": f"https://www.google.com/maps/search/?api=1&query={quote(place)}"
            if place
            else "",
            "ics_url": "data:text/calendar;charset=utf-8," + quote(ics),
            "what_to_bring": WHAT_TO_BRING,
            "presign_url": f"{settings.SITE_URL}/g/{page.page_id}/presign",
            "confirm_url": f"{settings.SITE_URL}/g/{page.page_id}/photos",
            "party_url": f"{settings.SITE_URL}/g/{page.page_id}/party",
            "style": mark_safe(style),  # noqa: S308 (our own static stylesheet)
            "script": mark_safe(script),  # noqa: S308 (our own static script)
            "csp": _content_security_policy(style=style, script=script),
        },
    )


@dataclass
class PublishOutcome:
    page: GuestPage
    uploaded: bool
    invalidation_id: str = ""


def guest_page_publish(
    booking: Booking,
    *,
    force: bool = False,
    actor: Any = None,
    invalidator: CdnInvalidator | None = None,
) -> PublishOutcome:
    """Make the published page match the booking: upload it and invalidate the CDN if it changed.

    Idempotent: when the rendered page's SHA-256 equals the stored hash nothing is written
    and nothing is invalidated (``force`` re-uploads and invalidates anyway). The hash is
    stored only after both the upload and the invalidation succeeded, so a retry after a
    failure in between repeats them. One audit row per upload (published, withdrawn, or
    republished when forced). Raises ``TransientError`` / ``PermanentError``.
    """
    page, _ = GuestPage.objects.get_or_create(booking=booking)
    page.booking = booking
    html = guest_page_render(page)
    body = html.encode()
    if len(body) > GUEST_PAGE_MAX_BYTES:
        raise PermanentError(
            f"The guest page is {len(body)} bytes, over the {GUEST_PAGE_MAX_BYTES} byte limit; "
            "shorten the booking's texts (special requests, meeting point)."
        )
    digest = hashlib.sha256(body).hexdigest()
    status = GuestPage.Status.PUBLISHED if booking.is_live else GuestPage.Status.CANCELLED
    if digest == page.content_hash and not force:
        if page.status != status:
            GuestPage.objects.filter(pk=page.pk).update(status=status)
            page.status = status
        return PublishOutcome(page=page, uploaded=False)

    storage = storages["guestpages"]
    content = ContentFile(body)
    content.content_type = GUEST_PAGE_CONTENT_TYPE  # used by storages that take no parameters
    try:
        storage.save(guest_page_key(page), content)
    except TargetError:
        raise
    except Exception as exc:
        raise classify(exc) from exc

    # One invalidation per content version; a retry of the same version reuses the reference.
    reference = f"{page.page_id}-v{booking.version}-{digest[:16]}"
    if force:
        reference += f"-{uuid.uuid4().hex[:8]}"
    invalidation_id = (invalidator or get_invalidator()).invalidate(
        guest_page_paths(page), reference=reference
    )

    with transaction.atomic():
        page.content_hash = digest
        page.published_at = timezone.now()
        page.public_url = guest_page_public_url(page)
        page.status = status
        page.save(update_fields=["content_hash", "published_at", "public_url", "status"])
        action = "published" if booking.is_live else "withdrawn"
        audit_log(
            f"guestpages.guest_page.{'republished' if force else action}",
            page,
            actor=actor,
            booking=booking,
            data={"hash": digest, "invalidation": invalidation_id, "status": status},
        )
    return PublishOutcome(page=page, uploaded=True, invalidation_id=invalidation_id)


def guest_page_republish(booking: Booking, *, actor: Any = None) -> PublishOutcome:
    """Staff's "Republish guest page": upload and invalidate now even if nothing changed.

    For when the object or the CDN went out of step (deleted by hand, a stale edge copy).
    Raises ``TargetError`` with a message to show when S3 or CloudFront refuses.
    """
    if not booking.is_live and not GuestPage.objects.filter(booking=booking).exists():
        raise PermanentError("This booking is not confirmed and never had a guest page.")
    return guest_page_publish(booking, force=True, actor=actor)


class GuestPageTarget:
    """The fan-out target ``guest_page``: the booking's page is published, or withdrawn."""

    name = "guest_page"
    label = "Guest page"
    short = "Page"

    def sync(self, booking: Booking, *, state: TargetState | None = None) -> SyncResult:
        """Publish the page as the booking is now; a booking that never had one is skipped.

        Idempotent (content-hash gated). Errors are ``TransientError`` (throttling, 5xx,
        timeouts: retried with backoff) or ``PermanentError`` (missing bucket or
        distribution, denied access: the row fails with the message).
        """
        if not booking.is_live and not GuestPage.objects.filter(booking=booking).exists():
            return SyncResult(skipped=True)
        outcome = guest_page_publish(booking)
        page = outcome.page
        return SyncResult(
            external_ref=guest_page_key(page),
            detail={
                "hash": page.content_hash,
                "url": page.public_url,
                "uploaded": outcome.uploaded,
                "invalidation": outcome.invalidation_id,
            },
        )
