"""The signed waiver as a PDF (fpdf2, core fonts): a pure function of the signature, stored once.

``waiver_pdf`` renders the bytes and touches nothing; ``waiver_pdf_store`` writes them once
through ``storages["default"]`` with their SHA-256 beside the signature's HTML, and
``waiver_pdf_document`` reads them back checked against that hash. Text goes through
``charterops.pdf.pdf_text`` like every PDF of the project (Latin-1 core fonts, no font file):
a name outside Latin-1 is transliterated, and the PDF then says the HTML holds the exact text.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from charterops.pdf import pdf_text as _t
from charterops.pdf import pdf_text_is_exact

from .models import WaiverSignature, WaiverText

__all__ = ["WaiverPdfMismatch", "waiver_pdf", "waiver_pdf_document", "waiver_pdf_store"]


class WaiverPdfMismatch(ValueError):
    """The stored PDF does not match its recorded SHA-256."""


def _when(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return local.strftime("%a %b %-d %Y, %-I:%M %p ") + (local.tzname() or "")


def waiver_pdf(signature: WaiverSignature, *, text: WaiverText) -> bytes:
    """The signed waiver as PDF bytes: the text as accepted, who signed, when, from where.

    Pure: reads the signature, its entry and booking (already loaded) and ``text``; the same
    signature renders the same bytes (the creation date is the signing time).
    """
    entry, booking = signature.entry, signature.booking
    pdf = FPDF(format="Letter")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(18, 16, 18)
    pdf.set_creation_date(signature.signed_at)
    pdf.set_title(_t(f"Signed waiver: {entry.full_name}, {booking.reference}"))
    pdf.set_author("CharterOps")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)
    pdf.multi_cell(0, 8, _t(text.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=8)
    pdf.multi_cell(
        0,
        4,
        _t(f"Waiver version {text.version} - SHA-256 of its text: {text.sha256}"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(3)
    pdf.set_font("times", size=11)
    for paragraph in text.body.split("\n"):
        if paragraph.strip():
            pdf.multi_cell(0, 5.5, _t(paragraph), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(2)
    pdf.ln(2)
    start = timezone.localtime(booking.start)
    age = "18 or over" if signature.adult else "minor"
    if signature.date_of_birth:
        age += f" - born {signature.date_of_birth:%Y-%m-%d}"
    rows = [
        ("Charter", f"{booking.reference} - {booking.boat.name} - {_when(start)}"),
        ("Person aboard", entry.full_name),
        ("Age", age),
    ]
    if signature.guardian_name:
        rows.append(("Signed for by parent or guardian", signature.guardian_name))
    rows += [
        ("Signature (typed)", signature.signed_name),
        ("Signed at", f"{signature.signed_at.isoformat()} (UTC)"),
        ("From address", signature.ip or "unknown"),
        ("Browser", signature.user_agent or "unknown"),
    ]
    pdf.set_draw_color(120, 120, 120)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(2)
    for label, value in rows:
        pdf.set_font("helvetica", "B", 9)
        pdf.cell(58, 5.5, _t(label))
        pdf.set_font("helvetica", size=9)
        pdf.multi_cell(0, 5.5, _t(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    names = (entry.full_name, signature.signed_name, signature.guardian_name, text.title, text.body)
    pdf.ln(3)
    pdf.set_font("helvetica", "I", 8)
    note = (
        f"This PDF renders the signed record; the signed HTML document (SHA-256 "
        f"{signature.document_sha256}) is the original."
    )
    if not all(pdf_text_is_exact(value) for value in names):
        note += " Some letters are shown transliterated here; the HTML holds them exactly."
    pdf.multi_cell(0, 4, _t(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def waiver_pdf_store(signature: WaiverSignature) -> WaiverSignature:
    """Render and store the signature's PDF once, with its SHA-256; returns the signature.

    Idempotent: a signature that has its PDF is returned as it is. The key is unique per
    attempt and the row is claimed by one conditional UPDATE (``pdf_document = ''``): of two
    concurrent downloads one stores, the other deletes its own file and reads the winner's.
    Never overwrites a stored document. Not retried: a storage error propagates.
    """
    if signature.pdf_document:
        return signature
    body = waiver_pdf(signature, text=signature.waiver_text)
    digest = hashlib.sha256(body).hexdigest()
    key = (
        f"waivers/{signature.booking_id}/{signature.entry.token}-v{signature.text_version}"
        f"-{uuid.uuid4().hex[:8]}.pdf"
    )
    storage = storages["default"]
    saved = storage.save(key, ContentFile(body))
    claimed = WaiverSignature.objects.filter(pk=signature.pk, pdf_document="").update(
        pdf_document=saved, pdf_sha256=digest
    )
    if not claimed:
        storage.delete(saved)
        signature.refresh_from_db(fields=["pdf_document", "pdf_sha256"])
        return signature
    signature.pdf_document, signature.pdf_sha256 = saved, digest
    return signature


def waiver_pdf_document(signature: WaiverSignature) -> bytes:
    """The stored PDF (stored first if the signature has none yet), checked against its
    recorded SHA-256; raises ``WaiverPdfMismatch`` if the stored bytes were altered."""
    signature = waiver_pdf_store(signature)
    with storages["default"].open(signature.pdf_document, "rb") as fh:
        body = fh.read()
    if hashlib.sha256(body).hexdigest() != signature.pdf_sha256:
        raise WaiverPdfMismatch("The stored waiver PDF does not match its recorded SHA-256.")
    return body
