"""A captain on a phone records departure and return with a photo; staff then open the PDF.

Real headless Chromium at a phone viewport, plain forms (the record needs no JavaScript),
the embedded storage; the dispatcher's booking page then links the record PDF.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader

from crew.magic_links import crew_magic_link
from crew.voyage.models import VoyageDocument, VoyageRecord
from tests import factories
from tests.browser.test_crew_portal_browser import tiny_png
from tests.services import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_captain_records_departure_and_return_from_a_phone_and_staff_open_the_pdf(
    chromium, live_server, settings, django_user_model, artifacts_dir
):
    settings.SITE_URL = live_server.url
    django_user_model.objects.create_superuser("dispatch", "d@example.com", "harbor-lights-7")
    booking = factories.BookingFactory(
        boat__name="Queen of San Diego", guest_name="Ana Ruiz", party_size=6
    )
    me = factories.CrewAssignmentFactory(
        booking=booking, role="captain", member__name="Marco Vidal", response="accepted"
    )
    link = urlsplit(crew_magic_link(me))

    phone = chromium.new_context(base_url=live_server.url, **PHONE)
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    page.goto(f"{link.path}?{link.query}")
    section = page.locator("#voyage")
    section.scroll_into_view_if_needed()

    # Departure: forgetting the orientation tick is refused with a sentence, nothing saved.
    form = page.locator("form[data-departure-form]")
    form.get_by_label("Fuel level").fill("90")
    form.get_by_label("Engine hours").fill("1520.4")
    form.get_by_role("button", name="Record departure").click()
    page.get_by_text("Give the safety orientation before getting underway").wait_for()
    assert not VoyageRecord.objects.exists()
    page.screenshot(path=str(artifacts_dir / "voyage-1-refused.png"), full_page=True)

    form = page.locator("form[data-departure-form]")
    assert form.get_by_label("Engine hours").input_value() == "1520.4"  # kept
    form.get_by_label("I gave the safety orientation", exact=False).check()
    form.get_by_label("Condition notes").fill("Old scuff, port bow")
    form.locator("input[name=record_photos]").set_input_files(
        files=[{"name": "bow.png", "mimeType": "image/png", "buffer": tiny_png()}]
    )
    form.get_by_role("button", name="Record departure").click()
    page.get_by_text("Departure recorded at").wait_for()
    page.screenshot(path=str(artifacts_dir / "voyage-2-departed.png"), full_page=True)

    # Return with a photo of the stern.
    form = page.locator("form[data-return-form]")
    form.get_by_label("Fuel level").fill("55")
    form.get_by_label("Engine hours").fill("1524.1")
    form.get_by_role("radio", name="No damage").check()
    form.locator("input[name=record_photos]").set_input_files(
        files=[{"name": "stern.png", "mimeType": "image/png", "buffer": tiny_png(30, 20)}]
    )
    form.get_by_role("button", name="Record return").click()
    page.get_by_text("Record complete").wait_for()
    page.screenshot(path=str(artifacts_dir / "voyage-3-returned.png"), full_page=True)
    record = VoyageRecord.objects.get(booking=booking)
    assert record.photos.count() == 2
    assert record.documents.get().status == VoyageDocument.Status.DONE

    # The dispatcher opens the booking and its record PDF.
    desk = chromium.new_context(base_url=live_server.url)
    desk.set_default_timeout(15_000)
    admin = desk.new_page()
    admin.goto("/admin/")
    admin.fill("#id_username", "dispatch")
    admin.fill("#id_password", "harbor-lights-7")
    admin.click("input[type=submit]")
    admin.goto(f"/admin/bookings/booking/{booking.pk}/change/")
    pdf_link = admin.get_by_role("link", name="Record PDF, version 1")
    pdf_link.wait_for()
    admin.screenshot(path=str(artifacts_dir / "voyage-4-staff-booking.png"), full_page=True)
    response = desk.request.get(pdf_link.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.body())).pages[0].extract_text()
    assert "Queen of San Diego" in text and "1520.4" in text and "1524.1" in text
    phone.close()
    desk.close()
