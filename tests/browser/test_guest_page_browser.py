"""A guest opens the published confirmation on a phone, drops a photo, and staff find it."""

from __future__ import annotations

import base64

import boto3
import pytest
from django.conf import settings as django_settings

from bookings.photos.models import Photo
from guestpages.publishing import guest_page_publish
from tests.factories import BookingFactory, CrewAssignmentFactory, CrewMemberFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A real 1x1 PNG: the browser sends it as image/png from its file name.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def make_booking():
    booking = BookingFactory(guest_name='Zoë "Ace" <O\'Brien> 🦈', external_id="BS-4821937")
    CrewAssignmentFactory(
        booking=booking,
        role="captain",
        member=CrewMemberFactory(name="Captain Rosa Vidal", phone="+16195550123"),
    )
    return booking


def drop_a_photo(page, tmp_path) -> None:
    photo = tmp_path / "sunset on the bay.png"
    photo.write_bytes(PNG)
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_selector("#photo-files li[data-state]")
    item = page.locator("#photo-files li").first
    assert item.get_attribute("data-state") == "done", item.inner_text()
    assert "Uploaded" in item.inner_text()
    assert page.locator("#photo-files progress").first.evaluate("el => el.value") == 1


def staff_sees_the_photo(
    browser_context, django_user_model, booking, key: str, *, artifacts_dir, tag: str
) -> None:
    django_user_model.objects.create_superuser("dispatch", "d@example.com", "harbor-lights-7")
    admin = browser_context.new_page()
    admin.goto("/admin/login/")
    admin.fill("#id_username", "dispatch")
    admin.fill("#id_password", "harbor-lights-7")
    admin.click("input[type=submit]")
    admin.goto(f"/admin/bookings/booking/{booking.pk}/change/")
    # The booking's gallery shows the guest's photo, really loaded from the store.
    shown = admin.locator(".crew-gallery img[alt='Guest']")
    shown.first.wait_for()
    assert shown.count() == 1
    shown.first.scroll_into_view_if_needed()  # lazy: it loads once it is near the viewport
    admin.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=shown.first.element_handle()
    )
    admin.locator("fieldset", has=shown.first).screenshot(
        path=str(artifacts_dir / f"guest-photo-in-staff-gallery-{tag}.png")
    )
    admin.click("text=1 photo(s), 0 hidden")  # the guest page panel links to the guest's photos
    # Staff can hide a guest's photo.
    admin.click(f"#result_list a:has-text('{key}')")
    admin.check("#id_hidden")
    admin.click("input[name=_save]")
    admin.wait_for_selector(".messagelist .success")
    assert Photo.objects.get(key=key).hidden
    admin.goto(f"/admin/bookings/booking/{booking.pk}/change/")
    assert admin.get_by_text("1 photo(s), 1 hidden").is_visible()
    assert admin.locator(".crew-gallery img").count() == 0  # hidden from the gallery


def test_guest_drops_a_photo_from_the_page_on_s3(
    browser_context,
    phone_context,
    live_server,
    s3_storage_server,
    settings,
    django_user_model,
    artifacts_dir,
    tmp_path,
):
    settings.SITE_URL = live_server.url
    settings.CHARTEROPS_GUEST_PAGE_ORIGIN = s3_storage_server  # the page's origin: the bucket
    settings.CLOUDFRONT_DISTRIBUTION_ID = ""
    booking = make_booking()
    published = guest_page_publish(booking).page

    page = phone_context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    # The bucket is private (CloudFront reads it through origin access control in production);
    # the browser reads the very object through a presigned GET on the same origin.
    s3 = boto3.client("s3", region_name=settings.AWS_REGION, endpoint_url=s3_storage_server)
    page.goto(
        s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": settings.GUEST_PAGES_BUCKET, "Key": f"g/{published.page_id}.html"},
        )
    )

    assert page.locator("h1").inner_text() == "You're booked, Zoë \"Ace\" <O'Brien> 🦈!"
    assert page.get_by_text("Captain Rosa Vidal").is_visible()
    assert page.locator("#photo-drop").is_visible()
    drop_a_photo(page, tmp_path)
    page.screenshot(path=str(artifacts_dir / "guest-page-phone.png"), full_page=True)
    assert errors == []  # in particular no CSP violation

    photo = Photo.objects.get(booking=booking)
    assert photo.uploaded_by == "guest" and photo.key.startswith(f"photos/{booking.pk}/guest/")
    stored = s3.get_object(Bucket=django_settings.PHOTOS_BUCKET, Key=photo.key)
    assert stored["Body"].read() == PNG
    staff_sees_the_photo(
        browser_context,
        django_user_model,
        booking,
        photo.key,
        artifacts_dir=artifacts_dir,
        tag="s3",
    )


def test_guest_drops_a_photo_on_the_embedded_default(
    browser_context,
    phone_context,
    live_server,
    settings,
    django_user_model,
    artifacts_dir,
    tmp_path,
):
    settings.SITE_URL = live_server.url
    settings.CHARTEROPS_GUEST_PAGE_ORIGIN = live_server.url
    booking = make_booking()
    published = guest_page_publish(booking).page
    assert published.public_url == f"{live_server.url}/g/{published.page_id}"

    page = phone_context.new_page()
    page.goto(published.public_url)
    assert "BS-4821937" in page.locator("header").inner_text()
    drop_a_photo(page, tmp_path)
    page.screenshot(path=str(artifacts_dir / "guest-page-phone-local.png"), full_page=True)

    photo = Photo.objects.get(booking=booking)
    staff_sees_the_photo(
        browser_context,
        django_user_model,
        booking,
        photo.key,
        artifacts_dir=artifacts_dir,
        tag="local",
    )


def test_the_page_shows_why_the_drop_is_closed(phone_context, live_server, settings):
    settings.SITE_URL = live_server.url
    settings.CHARTEROPS_GUEST_PAGE_ORIGIN = live_server.url
    booking = make_booking()
    published = guest_page_publish(booking).page
    type(booking).objects.filter(pk=booking.pk).update(status="pending")  # page not re-rendered

    page = phone_context.new_page()
    page.goto(published.public_url)
    page.set_input_files(
        "#photo-input", files=[{"name": "a.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.wait_for_selector("#photo-files li[data-state=failed]")
    assert "opens once your charter is confirmed" in page.locator("#photo-files li").inner_text()
