"""The charter record as one PDF (fpdf2, pure Python): a pure function of the record.

Nothing here touches the database beyond reading the record and its relations, or writes
anywhere: ``voyage_record_pdf`` returns bytes; ``crew.voyage.documents`` stores them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bookings.marketplace.rules import source_label
from charterops.pdf import pdf_text as _t

from .models import VoyageRecord
from .records import boat_zone

THUMB_MM = 44


def _reading(value: Decimal | None, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value.normalize():f}{suffix}"


def _when(moment: datetime | None, zone) -> str:
    if moment is None:
        return "-"
    local = moment.astimezone(zone)
    return local.strftime("%a %b %-d %Y, %-I:%M %p ") + local.tzname()


class _RecordPDF(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="Letter")
        self.footer_text = footer_text
        self.set_auto_page_break(auto=True, margin=16)
        self.set_margins(16, 14, 16)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", size=8)
        self.cell(0, 6, _t(f"{self.footer_text} - page {self.page_no()}"), align="C")


def voyage_record_pdf(
    record: VoyageRecord,
    *,
    version: int,
    rendered_at: datetime,
    read_photo: Callable[[str], bytes | None],
) -> bytes:
    """The record as PDF bytes: booking, boat, crew and roles, times, readings, photos.

    ``read_photo(key)`` returns a photo's bytes (or None); a photo that cannot be read or
    decoded is listed without a thumbnail. Pure apart from that call.
    """
    booking = record.booking
    boat = record.boat
    zone = boat_zone(boat)
    upkeep = getattr(boat, "upkeep", None)
    fuel_suffix = upkeep.fuel_suffix if upkeep else " %"
    pdf = _RecordPDF(f"{booking.reference} - record version {version}")
    pdf.set_title(_t(f"Charter record {booking.reference}"))
    pdf.set_author("CharterOps")
    pdf.add_page()

    pdf.set_font("helvetica", "B", 17)
    pdf.cell(0, 9, _t(f"Charter record: {boat.name}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=9)
    pdf.cell(
        0,
        5,
        _t(
            f"{booking.reference} - version {version} - rendered {_when(rendered_at, zone)}"
            f" - times in {zone.key}"
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    if record.damage:
        pdf.set_font("helvetica", "B", 11)
        pdf.set_text_color(160, 0, 27)
        pdf.cell(0, 7, "DAMAGE REPORTED", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
    pdf.ln(2)

    def section(title: str) -> None:
        pdf.ln(2)
        pdf.set_font("helvetica", "B", 12)
        pdf.cell(0, 7, _t(title), border="B", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)

    def row(label: str, value: object) -> None:
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(48, 6, _t(label))
        pdf.set_font("helvetica", size=10)
        pdf.multi_cell(0, 6, _t(value) or "-", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    section("Booking")
    row("Booking", f"{booking.reference} ({source_label(booking.source)})")
    row("Guest", f"{booking.guest_name}, party of {booking.party_size}")
    row("Scheduled", f"{_when(booking.start, zone)} to {_when(booking.end, zone)}")
    row("Meeting point", booking.meeting_point or boat.home_marina)
    row("Boat", f"{boat.name} (carries {boat.capacity} guests)")

    section("Crew")
    for a in booking.assignments.select_related("member").order_by("role", "member__name"):
        row(a.get_role_display(), f"{a.member.name} ({a.get_response_display().lower()})")

    section("Departure")
    row("Departed", _when(record.departed_at, zone))
    row("Recorded by", record.departed_by.name if record.departed_by else "-")
    row("Fuel", _reading(record.fuel_out, fuel_suffix))
    row("Engine hours", _reading(record.engine_hours_out))
    expected = record.headcount_expected
    headcount = "-" if record.headcount is None else str(record.headcount)
    if record.headcount is not None and expected is not None:
        headcount += f" aboard, {expected} expected"
        if record.headcount != expected:
            headcount += " (DIFFERS)"
    row("Headcount", headcount)
    row("Safety orientation", "Given" if record.orientation_given else "NOT given")
    row("Condition", record.condition_out or "-")

    section("Return")
    row("Time back", _when(record.returned_at, zone))
    row("Recorded by", record.returned_by.name if record.returned_by else "-")
    row("Fuel", _reading(record.fuel_in, fuel_suffix))
    row("Engine hours", _reading(record.engine_hours_in))
    if record.engine_hours_in is not None and record.engine_hours_out is not None:
        row("Engine hours run", _reading(record.engine_hours_in - record.engine_hours_out))
    if record.fuel_in is not None and record.fuel_out is not None:
        row("Fuel used", _reading(record.fuel_out - record.fuel_in, fuel_suffix))
    row("Condition", record.condition_in or "-")
    row("Damage", "YES" if record.damage else "No")
    if record.damage:
        row("Damage notes", record.damage_notes)

    tags = list(record.photos.select_related("photo__member").order_by("photo__uploaded_at"))
    if tags and pdf.get_y() + THUMB_MM + 30 > pdf.h - 16:
        pdf.add_page()  # keep the heading with its first row of thumbnails
    section(f"Photos ({len(tags)})")
    if not tags:
        pdf.set_font("helvetica", size=10)
        pdf.cell(0, 6, "No photos were taken with the record.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    per_row = 3
    gap = 6
    for index, tag in enumerate(tags):
        column = index % per_row
        if column == 0:
            if pdf.get_y() + THUMB_MM + 14 > pdf.h - 16:
                pdf.add_page()
            top = pdf.get_y()
        x = pdf.l_margin + column * (THUMB_MM + gap)
        _thumbnail(pdf, read_photo(tag.photo.key), x=x, y=top)
        pdf.set_xy(x, top + THUMB_MM + 1)
        pdf.set_font("helvetica", size=8)
        who = tag.photo.member.name if tag.photo.member else "crew"
        pdf.multi_cell(
            THUMB_MM,
            4,
            _t(f"{tag.get_stage_display()} - {_when(tag.photo.uploaded_at, zone)} - {who}"),
            align="L",
        )
        if column == per_row - 1 or index == len(tags) - 1:
            pdf.set_xy(pdf.l_margin, top + THUMB_MM + 14)
    return bytes(pdf.output())


def _thumbnail(pdf: FPDF, data: bytes | None, *, x: float, y: float) -> None:
    """Draw a square-fitted thumbnail, or a framed placeholder when the image cannot be read."""
    image = None
    if data:
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as opened:
                opened.thumbnail((480, 480))
                image = io.BytesIO()
                opened.convert("RGB").save(image, format="JPEG", quality=80)
                width, height = opened.size
        except Exception:  # noqa: BLE001  (any undecodable upload: HEIC without a plugin, junk)
            image = None
    if image is None:
        pdf.rect(x, y, THUMB_MM, THUMB_MM)
        pdf.set_xy(x, y + THUMB_MM / 2 - 3)
        pdf.set_font("helvetica", size=8)
        pdf.cell(THUMB_MM, 6, "no preview", align="C")
        return
    scale = THUMB_MM / max(width, height)
    w, h = width * scale, height * scale
    pdf.image(image, x=x + (THUMB_MM - w) / 2, y=y + (THUMB_MM - h) / 2, w=w, h=h)
