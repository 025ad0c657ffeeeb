"""The signed waiver as a PDF: stored once with its SHA-256 beside the HTML, checked on
download, Unicode names through the project's core-font text rule."""

from __future__ import annotations

import hashlib
import zlib

import pytest
from django.core.files.storage import storages
from django.urls import reverse

from guestpages.manifest import manifest_entry_add, waiver_sign
from guestpages.models import GuestPage, WaiverSignature
from guestpages.waiver_pdf import waiver_pdf, waiver_pdf_document, waiver_pdf_store
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def signature():
    page = GuestPage.objects.create(booking=factories.BookingFactory(party_size=2))
    entry = manifest_entry_add(page.booking, full_name="Ana Ruiz")
    return waiver_sign(entry, signed_name="Ana Ruiz", over_18=True, accepted=True, ip="203.0.113.9")


def _text(pdf: bytes) -> str:
    """The PDF's page text, streams inflated (enough to find what was written)."""
    out = []
    for chunk in pdf.split(b"stream\n")[1:]:
        body = chunk.split(b"\nendstream")[0]
        try:
            out.append(zlib.decompress(body).decode("latin-1"))
        except zlib.error:
            out.append(body.decode("latin-1"))
    return "".join(out)


def test_signing_stores_the_pdf_once_beside_the_html(signature):
    assert signature.pdf_document.endswith(".pdf") and signature.document.endswith(".html")
    assert signature.pdf_document.removesuffix(".pdf") == signature.document.removesuffix(".html")
    with storages["default"].open(signature.pdf_document, "rb") as fh:
        body = fh.read()
    assert body.startswith(b"%PDF-") and hashlib.sha256(body).hexdigest() == signature.pdf_sha256
    text = _text(body)
    assert "Ana Ruiz" in text and "203.0.113.9" in text and signature.text_sha256 in text
    assert signature.document_sha256 in text  # points at the original


def test_staff_download_the_pdf_checked_against_its_hash(superuser_client, signature):
    booking_page = superuser_client.get(
        reverse("admin:bookings_booking_change", args=[signature.booking_id])
    ).content.decode()
    url = reverse("admin:guestpages_waiversignature_download_pdf", args=[signature.pk])
    assert url in booking_page
    response = superuser_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].endswith('.pdf"')
    assert hashlib.sha256(response.content).hexdigest() == signature.pdf_sha256

    storage = storages["default"]
    storage.delete(signature.pdf_document)
    storage.save(signature.pdf_document, __import__("io").BytesIO(b"%PDF-1.3 forged"))
    refused = superuser_client.get(url)
    assert refused.status_code == 409 and b"SHA-256" in refused.content


def test_a_signature_older_than_pdfs_gets_its_pdf_once_on_first_download(signature):
    storages["default"].delete(signature.pdf_document)
    WaiverSignature.objects.filter(pk=signature.pk).update(pdf_document="", pdf_sha256="")
    older = WaiverSignature.objects.select_related("entry", "booking__boat", "waiver_text").get()
    first = waiver_pdf_document(older)
    stored = WaiverSignature.objects.get()
    assert stored.pdf_document and hashlib.sha256(first).hexdigest() == stored.pdf_sha256
    # A second, stale copy of the row (a concurrent download) keeps the first document.
    again = waiver_pdf_store(older.__class__.objects.get(pk=older.pk))
    assert again.pdf_document == stored.pdf_document
    stale = WaiverSignature.objects.select_related("entry", "booking__boat", "waiver_text").get()
    stale.pdf_document = ""
    assert waiver_pdf_store(stale).pdf_document == stored.pdf_document
    _, files = storages["default"].listdir(f"waivers/{stored.booking_id}")
    assert len([f for f in files if f.endswith(".pdf")]) == 1


def test_unicode_names_render_through_the_core_font_rule():
    page = GuestPage.objects.create(booking=factories.BookingFactory(party_size=2))
    entry = manifest_entry_add(page.booking, full_name="Zoë Łukasz 王")
    signature = waiver_sign(entry, signed_name="Zoë Łukasz 王", over_18=True, accepted=True)
    with storages["default"].open(signature.pdf_document, "rb") as fh:
        text = _text(fh.read())
    # The project's rule (charterops.pdf, as the crew's record): a name with letters outside
    # Latin-1 is folded whole (ë -> e), and a letter with no Latin form shows as "?".
    assert "Zoe ?ukasz ?" in text
    assert "transliterated" in text
    assert "Zoë Łukasz 王" in storages["default"].open(signature.document).read().decode()


def test_the_pdf_is_a_pure_function_of_the_signature(signature):
    text = signature.waiver_text
    assert waiver_pdf(signature, text=text) == waiver_pdf(signature, text=text)


@pytest.mark.django_db(transaction=True)
def test_four_first_downloads_at_once_store_one_pdf():
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections: runs on the PostgreSQL pass")
    page = GuestPage.objects.create(booking=factories.BookingFactory(party_size=2))
    entry = manifest_entry_add(page.booking, full_name="Ana Ruiz")
    signed = waiver_sign(entry, signed_name="Ana Ruiz", over_18=True, accepted=True)
    storages["default"].delete(signed.pdf_document)
    WaiverSignature.objects.filter(pk=signed.pk).update(pdf_document="", pdf_sha256="")
    bodies, errors = [], []
    barrier = threading.Barrier(4)

    def download():
        try:
            row = WaiverSignature.objects.select_related(
                "entry", "booking__boat", "waiver_text"
            ).get(pk=signed.pk)
            barrier.wait()
            bodies.append(waiver_pdf_document(row))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=download) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    stored = WaiverSignature.objects.get(pk=signed.pk)
    assert {hashlib.sha256(b).hexdigest() for b in bodies} == {stored.pdf_sha256}
    _, files = storages["default"].listdir(f"waivers/{stored.booking_id}")
    assert [f for f in files if f.endswith(".pdf")] == [stored.pdf_document.rsplit("/", 1)[-1]]
