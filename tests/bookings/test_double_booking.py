"""Boat double booking: flagged when the second booking is applied, never refused at intake."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bookings.intake import booking_payload_parse, booking_upsert_from_event
from bookings.models import Booking
from bookings.services import booking_cancel, booking_update
from tests.factories import BookingFactory

from .intake_support import booking_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def first(queen):
    payload = booking_payload_parse(booking_of("booking_created__confirmed"))
    return booking_upsert_from_event("direct", payload, via="admin").booking


def marketplace_booking_at(start: str, end: str):
    data = booking_of("booking_created__confirmed", id="BS-OTHER", start=start, end=end)
    return booking_upsert_from_event("boatsetter", booking_payload_parse(data), via="webhook")


def test_an_overlapping_marketplace_booking_is_applied_and_both_are_flagged(first):
    result = marketplace_booking_at("2026-12-05T12:00:00-08:00", "2026-12-05T16:00:00-08:00")
    assert result.outcome == "created"  # never refused: it is a fact to handle
    first.refresh_from_db()
    assert result.booking.double_booked and first.double_booked


def test_back_to_back_charters_are_not_a_double_booking(first):
    result = marketplace_booking_at("2026-12-05T14:00:00-08:00", "2026-12-05T18:00:00-08:00")
    first.refresh_from_db()
    assert not result.booking.double_booked and not first.double_booked


def test_moving_or_cancelling_one_clears_both_flags(first):
    other = marketplace_booking_at("2026-12-05T12:00:00-08:00", "2026-12-05T16:00:00-08:00").booking
    booking_update(other, start=other.start + timedelta(days=1), end=other.end + timedelta(days=1))
    first.refresh_from_db()
    assert not other.double_booked and not first.double_booked
    booking_update(other, start=first.start, end=first.end)
    first.refresh_from_db()
    assert first.double_booked
    booking_cancel(other, reason="sold twice")
    first.refresh_from_db()
    assert not first.double_booked and not other.double_booked


def test_the_admin_warns_badges_and_lists_it(superuser_client, first):
    other = marketplace_booking_at("2026-12-05T12:00:00-08:00", "2026-12-05T16:00:00-08:00").booking
    BookingFactory(boat=first.boat, guest_name="Someone Else")  # another day, not flagged
    page = superuser_client.get(f"/admin/bookings/booking/{first.pk}/change/")
    warnings = [str(m) for m in page.context["messages"]]
    assert any("double-booked" in w and other.reference in w for w in warnings)
    attention = superuser_client.get("/admin/bookings/booking/?double_booked=yes")
    shown = {b.pk for b in attention.context["cl"].result_list}
    assert shown == {first.pk, other.pk}
    assert attention.text.count(">double-booked</span>") == 2
    assert Booking.objects.filter(double_booked=True).count() == 2


def _add(client, boat, **overrides):
    from django.urls import reverse

    from tests.bookings.test_admin import _form_data

    return client.post(reverse("admin:bookings_booking_add"), _form_data(client, boat, **overrides))


def test_staff_entry_asks_before_saving_over_another_charter_of_the_boat(superuser_client, first):
    # first: the boat's charter on Dec 5, 10:00-14:00 Pacific; this one starts at noon
    asked = _add(superuser_client, first.boat, start_1="12:00:00", end_1="16:00:00")
    assert asked.status_code == 200
    html = asked.content.decode()
    assert f"{first.boat} is already booked then: {first.reference}" in html
    assert 'name="save_despite_overlap"' in html  # the question is on the page, as a checkbox
    assert Booking.objects.count() == 1  # nothing saved yet

    saved = _add(
        superuser_client,
        first.boat,
        start_1="12:00:00",
        end_1="16:00:00",
        save_despite_overlap="on",
    )
    assert saved.status_code == 302
    first.refresh_from_db()
    assert first.double_booked and Booking.objects.filter(double_booked=True).count() == 2


def test_staff_entry_is_not_asked_when_nothing_overlaps(superuser_client, first):
    from django.urls import reverse

    assert (
        "save_despite_overlap"
        not in superuser_client.get(reverse("admin:bookings_booking_add")).content.decode()
    )
    other_error = _add(superuser_client, first.boat, start_1="14:00:00", end_1="13:00:00")
    assert other_error.status_code == 200
    assert "save_despite_overlap" not in other_error.content.decode()  # no question to ask
    back_to_back = _add(superuser_client, first.boat, start_1="14:00:00", end_1="18:00:00")
    assert back_to_back.status_code == 302
    cancelled = _add(
        superuser_client, first.boat, status="cancelled", guest_name="Not Coming"
    )  # same hours as first, but not live
    assert cancelled.status_code == 302
    assert not Booking.objects.filter(double_booked=True).exists()


def test_moving_a_charter_onto_another_asks_but_other_edits_of_a_double_booked_one_do_not(
    superuser_client, first
):
    from django.urls import reverse

    from tests.bookings.test_admin import _form_data

    other = BookingFactory(boat=first.boat, guest_name="Bo Lee")  # another day
    url = reverse("admin:bookings_booking_change", args=[other.pk])
    page = superuser_client.get(url)
    data = _form_data(superuser_client, first.boat)
    data.update(
        {
            "guest_name": other.guest_name,
            "guest_email": other.guest_email,
            "party_size": str(other.party_size),
            "status": other.status,
            "source": other.source,
            "external_id": other.external_id,
        }
    )
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        total = inline.formset.management_form.initial
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(total["TOTAL_FORMS"]),
                f"{prefix}-INITIAL_FORMS": str(total["INITIAL_FORMS"]),
            }
        )
        for i, inline_form in enumerate(inline.formset.forms):
            for field in inline_form.visible_fields() + inline_form.hidden_fields():
                value = field.value()
                if value not in (None, False):
                    data[f"{prefix}-{i}-{field.name}"] = value
    moved = superuser_client.post(url, data)  # onto first's hours
    assert moved.status_code == 200
    assert f"is already booked then: {first.reference}" in moved.content.decode()
    other.refresh_from_db()
    assert not other.double_booked and other.start != first.start

    data["save_despite_overlap"] = "on"
    assert superuser_client.post(url, data).status_code == 302
    other.refresh_from_db()
    assert other.double_booked and other.start == first.start

    data.pop("save_despite_overlap")
    data["special_requests"] = "Birthday cake"
    assert superuser_client.post(url, data).status_code == 302  # the charter did not move
    other.refresh_from_db()
    assert other.special_requests == "Birthday cake"
