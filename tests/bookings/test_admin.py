"""The admin as a product surface: every page renders, the booking list has a fixed query budget."""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.models import Booking
from charterops.models import AuditEvent
from tests.factories import BoatFactory, BookingFactory, CrewAssignmentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", list(site._registry), ids=lambda m: m._meta.label)
def test_every_registered_model_has_a_working_changelist(superuser_client, model, booking):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert superuser_client.get(url).status_code == 200


def test_booking_change_page_renders_with_inlines(superuser_client, booking):
    CrewAssignmentFactory(booking=booking)
    response = superuser_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    assert response.status_code == 200
    assert b"Crew assignments" in response.content


def _changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("admin:bookings_booking_changelist"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_booking_changelist_query_count_does_not_grow_with_bookings(superuser_client):
    boat = BoatFactory()
    for _ in range(5):
        CrewAssignmentFactory(booking=BookingFactory(boat=boat))
    five = _changelist_queries(superuser_client)
    for _ in range(45):
        CrewAssignmentFactory(booking=BookingFactory(boat=boat))
    fifty = _changelist_queries(superuser_client)
    assert five == fifty
    assert fifty <= 12


def test_booking_changelist_filters_and_search(superuser_client):
    past = BookingFactory(guest_name="Old Guest")
    past.start -= timedelta(days=30)
    past.end -= timedelta(days=30)
    past.save()
    BookingFactory(guest_name="Ana Ruiz", external_id="BS-4821937")
    url = reverse("admin:bookings_booking_changelist")
    upcoming = superuser_client.get(url, {"when": "upcoming"}).context["cl"].result_list
    assert [b.guest_name for b in upcoming] == ["Ana Ruiz"]
    found = superuser_client.get(url, {"q": "4821937"}).context["cl"].result_list
    assert [b.guest_name for b in found] == ["Ana Ruiz"]


def _form_data(client, boat, **overrides):
    """The add form as a dispatcher submits it, with every inline's management form empty."""
    data = {
        "source": "direct",
        "external_id": "",
        "status": "confirmed",
        "boat": boat.pk,
        "start_0": "2026-12-05",
        "start_1": "10:00:00",
        "end_0": "2026-12-05",
        "end_1": "14:00:00",
        "meeting_point": "Dock C",
        "guest_name": "Ana Ruiz",
        "guest_email": "ana@example.com",
        "guest_phone": "",
        "party_size": "6",
        "captain_required": "on",
        "special_requests": "",
        "currency": "USD",
        "boat_price": "950.00",
        "service_fee": "95.00",
        "captain_fee": "200.00",
        "owner_payout": "855.00",
    }
    page = client.get(reverse("admin:bookings_booking_add"))
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(overrides)
    return data


def test_adding_a_booking_in_the_admin_goes_through_the_domain_function(superuser_client):
    boat = BoatFactory(capacity=8)
    response = superuser_client.post(
        reverse("admin:bookings_booking_add"), _form_data(superuser_client, boat)
    )
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    booking = Booking.objects.get()
    assert booking.local_start.hour == 10  # entered in Pacific time
    assert AuditEvent.objects.filter(
        action="bookings.booking.created", actor__username="boss"
    ).exists()
    assert set(booking.target_states.values_list("target", flat=True)) == {
        "calendar",
        "crew",
        "checklist",
        "guest_page",
        "guest_notify",
    }


def test_overfull_party_is_a_clear_form_error_not_a_500(superuser_client):
    boat = BoatFactory(capacity=4)
    response = superuser_client.post(
        reverse("admin:bookings_booking_add"), _form_data(superuser_client, boat, party_size="9")
    )
    assert response.status_code == 200
    assert "carries at most 4 guests" in response.content.decode()
    assert not Booking.objects.exists()


def test_end_before_start_is_a_clear_form_error(superuser_client):
    boat = BoatFactory()
    response = superuser_client.post(
        reverse("admin:bookings_booking_add"), _form_data(superuser_client, boat, end_1="09:00:00")
    )
    assert response.status_code == 200
    assert "must end after it starts" in response.content.decode()
