"""A dispatcher works the inbound email list in a real Chromium: opens a proposal, reads the
diff, presses Apply and lands on the booking; axe-core finds nothing critical on the way."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bookings.intake.mail.sources import inbound_email_receive
from bookings.models import Booking
from tests.bookings.email_support import eml
from tests.browser.test_dispatch_desk_browser import critical_violations, desk  # noqa: F401
from tests.factories import BoatFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_proposal_is_read_applied_and_followed_to_its_booking(desk, artifacts_dir):  # noqa: F811
    BoatFactory(name="Queen of San Diego", capacity=12)
    inbound_email_receive(eml("boatsetter__confirmed__both_parts"), via="import", label="x")
    inbound_email_receive(eml("boatsetter__unknown__new_layout"), via="import", label="y")

    desk.goto(reverse("admin:bookings_inboundemail_changelist") + "?attention=yes")
    assert desk.locator("#result_list tbody tr").count() == 2
    assert critical_violations(desk) == []
    desk.click("text=Booking confirmed: Ana Ruiz")
    desk.locator(".co-email-diff").wait_for()
    desk.screenshot(path=str(artifacts_dir / "inbound-email-proposal.png"), full_page=True)
    assert critical_violations(desk) == []

    desk.click("button:has-text('Apply')")
    desk.locator(".messagelist", has_text="Applied: booking BS-4839215 created").wait_for()
    booking = Booking.objects.get(external_id="BS-4839215")
    desk.click(f"a[href='{reverse('admin:bookings_booking_change', args=[booking.pk])}']")
    desk.locator("#id_guest_name").wait_for()
    assert desk.input_value("#id_guest_name") == "Ana Ruiz"
    assert critical_violations(desk) == []
