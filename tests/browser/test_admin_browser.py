"""A dispatcher logs into the admin in a real Chromium and opens a booking."""

import pytest

from tests.factories import BookingFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_logs_in_and_opens_a_booking(browser_context, django_user_model, artifacts_dir):
    django_user_model.objects.create_superuser("dispatch", "d@example.com", "harbor-lights-7")
    booking = BookingFactory(guest_name="Ana Ruiz", external_id="BS-4821937")
    page = browser_context.new_page()
    page.goto("/admin/")
    page.fill("#id_username", "dispatch")
    page.fill("#id_password", "harbor-lights-7")
    page.click("input[type=submit]")
    page.click("#bookings-booking a")
    page.click("text=BS-4821937")
    assert page.input_value("#id_guest_name") == "Ana Ruiz"
    assert f"/admin/bookings/booking/{booking.pk}/change/" in page.url
    page.screenshot(path=str(artifacts_dir / "admin-booking.png"), full_page=True)
