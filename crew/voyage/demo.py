"""The demo's charter record: one completed charter with its departure, return and PDF."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from bookings.models import Boat, Booking
from bookings.photos.models import Photo
from bookings.photos.uploads import UploadRefused, photo_upload_direct

from ..models import CrewAssignment, Role
from .models import BoatUpkeep, VoyageRecord
from .records import voyage_departure_record, voyage_return_record

UPKEEP = {
    "queen-of-san-diego": {"service_interval_hours": Decimal("250"), "last_service": "1250"},
    "jada": {"service_interval_hours": Decimal("100"), "last_service": "800"},
}


def _demo_photo(colour: tuple[int, int, int], name: str) -> SimpleUploadedFile:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 360), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 200, 440, 320), fill=(240, 240, 240))
    draw.text((60, 240), name, fill=(10, 10, 10))
    data = io.BytesIO()
    image.save(data, format="JPEG", quality=85)
    return SimpleUploadedFile(f"{name}.jpg", data.getvalue(), content_type="image/jpeg")


def demo_voyage_record() -> VoyageRecord | None:
    """Upkeep settings for the demo boats, and the record of the latest completed charter.

    Idempotent: a charter that has a record is left alone. The record's times are set back
    to the charter's own (the demo is loaded after the fact); its PDF renders on commit.
    """
    for slug, upkeep in UPKEEP.items():
        boat = Boat.objects.filter(slug=slug).first()
        if boat is not None:
            BoatUpkeep.objects.get_or_create(
                boat=boat,
                defaults={
                    "service_interval_hours": upkeep["service_interval_hours"],
                    "last_service_engine_hours": Decimal(upkeep["last_service"]),
                },
            )
    booking = (
        Booking.objects.filter(status=Booking.Status.COMPLETED, boat__slug="queen-of-san-diego")
        .order_by("-start")
        .first()
    )
    if booking is None or VoyageRecord.objects.filter(booking=booking).exists():
        return None
    captain = booking.assignments.filter(role=Role.CAPTAIN).select_related("member").first()
    if captain is None:
        return None
    CrewAssignment.objects.filter(booking=booking).update(response="accepted")
    captain.refresh_from_db()

    def photo(colour, name):
        try:
            return [
                photo_upload_direct(
                    booking, uploader="crew", file=_demo_photo(colour, name), member=captain.member
                )
            ]
        except UploadRefused:
            return []

    departure_photos = photo((30, 90, 160), "bow at the dock")
    voyage_departure_record(
        captain,
        fuel="95",
        engine_hours="1486.2",
        headcount=booking.party_size,
        orientation_given=True,
        condition="Clean. Old scuff on the port bow (known). Cushions dry.",
        photos=departure_photos,
    )
    return_photos = photo((20, 120, 90), "scratch starboard rail")
    record = voyage_return_record(
        captain,
        fuel="61",
        engine_hours="1490.4",
        condition="Rinsed, trash off. Ice chest drained.",
        damage=True,
        damage_notes="New 15 cm scratch on the starboard rail, from fender contact at the fuel dock.",
        photos=return_photos,
    )
    # Back to the charter's own times (the domain stamps the server's clock, today).
    VoyageRecord.objects.filter(pk=record.pk).update(
        departed_at=booking.start + timedelta(minutes=6),
        returned_at=booking.end - timedelta(minutes=4),
    )
    Photo.objects.filter(pk__in=[p.pk for p in departure_photos]).update(
        uploaded_at=booking.start + timedelta(minutes=3)
    )
    Photo.objects.filter(pk__in=[p.pk for p in return_photos]).update(
        uploaded_at=booking.end - timedelta(minutes=2)
    )
    return record
