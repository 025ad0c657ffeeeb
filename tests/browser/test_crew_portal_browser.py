"""A deckhand on a phone: magic link from the email, accept, checklist, photo to S3, expense.

Then the dispatcher checks it all in the admin. Real headless Chromium at a phone viewport;
photos really travel from the browser to S3 (moto in server mode on 127.0.0.1).
"""

from __future__ import annotations

import re
import struct
import zlib
from decimal import Decimal
from urllib.parse import urlsplit

import boto3
import pytest
from django.core import mail

from bookings.photos.models import Photo
from crew.models import ChecklistItem, CrewAssignment, Expense
from crew.notifications import booking_crew_notify
from tests import factories
from tests.services import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tiny_png(width: int = 24, height: int = 16) -> bytes:
    """A real PNG (so the gallery can show it) built without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + b"\x10\x60\xc0" * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _context(chromium, live_server, **options):
    context = chromium.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(15_000)
    return context


def test_deckhand_runs_the_charter_from_a_phone_and_staff_see_it(
    chromium, live_server, s3_storage_server, settings, django_user_model, artifacts_dir
):
    settings.SITE_URL = live_server.url
    settings.CHARTEROPS_MILEAGE_RATE = "0.70"
    django_user_model.objects.create_superuser("dispatch", "d@example.com", "harbor-lights-7")
    booking = factories.BookingFactory(
        guest_name="Ana Ruiz",
        party_size=6,
        meeting_point="Harbor Island West Marina, dock C",
        special_requests="Vegetarian lunch",
    )
    factories.CrewAssignmentFactory(
        booking=booking, role="captain", member__name="Cap Lee", pay=Decimal("300.00")
    )
    me = factories.CrewAssignmentFactory(
        booking=booking, member__name="Dana Deck", pay=Decimal("150.00")
    )
    for n, text in enumerate(["Fuel check", "Supply inventory", "Guest safety briefing"]):
        factories.ChecklistItemFactory(booking=booking, text=text, position=n)
    factories.ChecklistItemFactory(booking=booking, text="Wash down", phase="post", required=False)

    # The link the member really received.
    booking_crew_notify(booking)
    message = next(m for m in mail.outbox if me.member.email in m.to)
    link = re.search(r"https?://\S+/crew/events/\d+/\?sesame=[\w\-.:]+", message.body).group(0)
    assert link.startswith(live_server.url)

    phone = _context(chromium, live_server, **PHONE)
    page = phone.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(urlsplit(link).path + "?" + urlsplit(link).query)
    assert "sesame" not in page.url  # the token left the address bar after the first hop
    assert page.get_by_text("Can you make it?").is_visible()
    assert page.get_by_text("Vegetarian lunch").is_visible()
    page.screenshot(path=str(artifacts_dir / "crew-portal-1-invite.png"), full_page=True)

    # Accept.
    page.get_by_role("button", name="Accept").click()
    page.get_by_text("Thanks, see you on board.").wait_for()
    assert CrewAssignment.objects.get(pk=me.pk).response == "accepted"

    # Tick two items; they save in place (no navigation) and survive a reload.
    for text in ("Fuel check", "Supply inventory"):
        item = page.locator("[data-item]", has_text=text)
        item.get_by_role("button", name=f"Tick: {text}").click()
        page.locator("[data-item].done:not(.pending)", has_text=text).wait_for()
    page.get_by_text("2/4").wait_for()
    page.reload()
    assert page.locator("[data-item].done").count() == 2
    assert page.get_by_text("Done by Dana Deck").first.is_visible()
    assert ChecklistItem.objects.filter(booking=booking, done_by=me.member).count() == 2

    # A photo goes straight from the phone to S3 (moto's server), then is recorded.
    page.set_input_files(
        "input[name=photos]",
        files=[{"name": "dock.png", "mimeType": "image/png", "buffer": tiny_png()}],
    )
    page.get_by_text("dock.png: uploaded").wait_for()
    page.locator("[data-gallery] img").first.wait_for()
    photo = Photo.objects.get(booking=booking)
    assert photo.key.startswith(f"photos/{booking.pk}/crew/m{me.member.pk}-")
    s3 = boto3.client("s3", region_name=settings.AWS_REGION, endpoint_url=s3_storage_server)
    assert s3.head_object(Bucket=settings.PHOTOS_BUCKET, Key=photo.key)["ContentLength"] == (
        len(tiny_png())
    )
    page.screenshot(path=str(artifacts_dir / "crew-portal-2-checklist-photo.png"), full_page=True)

    # Mileage: the amount shows while typing, before saving.
    form = page.locator("form[data-expense-form]")
    form.get_by_role("radio", name="Mileage").check()
    form.locator("input[name=miles]").fill("12")
    form.get_by_text("= $8.40").wait_for()
    assert not form.locator("input[name=amount]").is_visible()  # only the mileage fields
    page.screenshot(path=str(artifacts_dir / "crew-portal-3-expense.png"), full_page=True)
    form.get_by_role("button", name="Save expense").click()
    page.get_by_text("Expense saved.").wait_for()
    expense = Expense.objects.get(booking=booking)
    assert (expense.kind, expense.miles, expense.amount) == (
        "mileage",
        Decimal("12.0"),
        Decimal("8.40"),
    )
    page.screenshot(path=str(artifacts_dir / "crew-portal-4-saved.png"), full_page=True)

    # The dispatcher, at a desk, sees the photo, the progress and the expense.
    desk = _context(chromium, live_server)
    admin = desk.new_page()
    admin.goto("/admin/")
    admin.fill("#id_username", "dispatch")
    admin.fill("#id_password", "harbor-lights-7")
    admin.click("input[type=submit]")
    admin.goto(f"/admin/bookings/booking/{booking.pk}/change/")
    admin.locator("[data-checklist-progress='2/4']").wait_for()
    gallery_image = admin.locator(".crew-gallery img").first
    gallery_image.scroll_into_view_if_needed()
    admin.wait_for_function(
        "img => img.complete && img.naturalWidth === 24", arg=gallery_image.element_handle()
    )
    assert "X-Amz-Signature=" in gallery_image.get_attribute("src")
    admin.screenshot(path=str(artifacts_dir / "crew-portal-5-staff-booking.png"), full_page=True)

    admin.goto("/admin/crew/expense/")
    row = admin.locator("#result_list tbody tr", has_text="Dana Deck")
    assert "8.40" in row.inner_text()
    row.locator("input[type=checkbox]").check()
    admin.select_option("select[name=action]", "approve_expenses")
    admin.click("button[name=index]")
    admin.get_by_text("Approved 1 expense(s).").wait_for()
    assert Expense.objects.get(pk=expense.pk).approved_by.username == "dispatch"

    # Back on the phone: the entry is approved and no longer editable.
    page.reload()
    entry = page.locator(".expenses li", has_text="Mileage")
    assert "approved" in entry.inner_text()
    assert entry.get_by_role("link", name="Edit").count() == 0
    page.screenshot(path=str(artifacts_dir / "crew-portal-6-approved.png"), full_page=True)
    assert dialogs == []  # nothing went wrong along the way
    phone.close()
    desk.close()


def test_weak_signal_ticks_wait_and_retry_and_local_uploads_work(
    chromium, live_server, settings, artifacts_dir
):
    """Embedded default (no S3): the photo goes to the signed local endpoint; offline ticks retry."""
    from crew.magic_links import crew_magic_link

    settings.SITE_URL = live_server.url
    me = factories.CrewAssignmentFactory(member__name="Dana Deck", response="accepted")
    for n, text in enumerate(["Fuel check", "Supply inventory"]):
        factories.ChecklistItemFactory(booking=me.booking, text=text, position=n)
    link = urlsplit(crew_magic_link(me))

    phone = _context(chromium, live_server, **PHONE)
    page = phone.new_page()
    page.goto(f"{link.path}?{link.query}")

    phone.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    page.get_by_role("button", name="Tick: Fuel check").click()
    page.locator("#offline").wait_for(state="visible")
    page.locator("[data-item].done.pending", has_text="Fuel check").wait_for()
    page.screenshot(path=str(artifacts_dir / "crew-portal-offline.png"), full_page=True)
    assert not ChecklistItem.objects.get(text="Fuel check").done
    phone.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.locator("[data-item].done:not(.pending)", has_text="Fuel check").wait_for()
    page.locator("#offline").wait_for(state="hidden")
    assert ChecklistItem.objects.get(text="Fuel check").done_by == me.member

    page.set_input_files(
        "input[name=photos]",
        files=[{"name": "deck.png", "mimeType": "image/png", "buffer": tiny_png()}],
    )
    page.get_by_text("deck.png: uploaded").wait_for()
    image = page.locator("[data-gallery] img").first
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 24", arg=image.element_handle()
    )
    assert "/uploads/photo/" in image.get_attribute("src")
    assert Photo.objects.get().member == me.member
    phone.close()


def test_without_javascript_every_form_still_works(chromium, live_server, settings):
    from crew.magic_links import crew_magic_link

    settings.SITE_URL = live_server.url
    me = factories.CrewAssignmentFactory(member__name="Dana Deck")
    factories.ChecklistItemFactory(booking=me.booking, text="Fuel check")
    link = urlsplit(crew_magic_link(me))
    phone = _context(chromium, live_server, java_script_enabled=False, **PHONE)
    page = phone.new_page()
    page.goto(f"{link.path}?{link.query}")
    page.get_by_role("button", name="Accept").click()
    page.get_by_role("button", name="Tick: Fuel check").click()
    assert page.locator("[data-item].done", has_text="Fuel check").count() == 1
    page.set_input_files(
        "input[name=photos]",
        files=[{"name": "deck.png", "mimeType": "image/png", "buffer": tiny_png()}],
    )
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("1 photo(s) uploaded.").wait_for()
    form = page.locator("form[data-expense-form]")
    form.get_by_role("radio", name="Mileage").check()
    form.locator("input[name=miles]").fill("10")
    form.get_by_role("button", name="Preview").click()
    page.get_by_text("= $7.00").wait_for()  # computed by the server before saving
    assert not Expense.objects.exists()
    page.get_by_role("button", name="Save expense").click()
    page.get_by_text("Expense saved.").wait_for()
    assert Expense.objects.get().amount == Decimal("7.00")
    assert CrewAssignment.objects.get(pk=me.pk).response == "accepted"
    phone.close()
