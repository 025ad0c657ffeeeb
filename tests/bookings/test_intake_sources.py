"""Sources are namespaces: a booking is (source, its id there), for every configured source."""

from __future__ import annotations

import pytest

from bookings.intake import booking_payload_parse, booking_upsert_from_event, sources_configured
from bookings.intake.webhook import webhook_deliveries_drain
from bookings.models import Booking
from tests.factories import BookingFactory

from .intake_support import SECRET, booking_of, load_event, post_signed, webhook_secrets_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def relays(settings, queen):
    """Two relays, each with its own secret."""
    webhook_secrets_set(settings, "acme", SECRET)
    webhook_secrets_set(settings, "zeta", SECRET)


def test_two_relays_with_the_same_booking_id_keep_two_bookings(client, relays):
    event = load_event("booking_created__confirmed")
    for relay in ("acme", "zeta"):
        assert post_signed(client, event, url=f"/webhooks/bookings/{relay}/").status_code == 202
    webhook_deliveries_drain()
    stored = sorted(Booking.objects.values_list("source", "external_id"))
    assert stored == [("acme", "BS-4821937"), ("zeta", "BS-4821937")]


def test_an_api_caller_meets_the_relay_s_booking_only_under_its_source(client, relays, api_token):
    def post(source: str):
        return client.post(
            f"/api/bookings/?source={source}",
            data=booking_of("booking_created__confirmed"),
            content_type="application/json",
            headers={"X-Dashboard-Token": api_token},
        )

    assert post("acme").json()["status"] == "created"
    assert post("zeta").json()["status"] == "created"  # not an update of acme's
    assert post("acme").json()["status"] == "unchanged"
    assert Booking.objects.count() == 2


def test_a_listed_source_is_configured_without_a_webhook(settings, queen):
    settings.CHARTEROPS_INTAKE_SOURCES = ["harbor-desk"]
    assert "harbor-desk" in sources_configured()
    payload = booking_payload_parse(booking_of("booking_created__confirmed"))
    result = booking_upsert_from_event("harbor-desk", payload, via="api")
    assert result.booking.source == "harbor-desk"


def test_the_admin_filters_bookings_by_each_source(superuser_client, relays, queen):
    BookingFactory(boat=queen, source="acme", external_id="A-1", guest_name="Acme Guest")
    BookingFactory(boat=queen, source="zeta", external_id="Z-1", guest_name="Zeta Guest")
    page = superuser_client.get("/admin/bookings/booking/?source=acme")
    assert page.status_code == 200
    assert "Acme Guest" in page.text and "Zeta Guest" not in page.text
    listing = superuser_client.get("/admin/bookings/booking/").text
    for name in ("acme", "zeta", "boatsetter", "direct"):
        assert f"?source={name}" in listing


def test_getmyboat_is_built_in_with_its_label_in_the_admin_filter(superuser_client, settings):
    settings.CHARTEROPS_INTAKE_SOURCES = []
    assert "getmyboat" in sources_configured()
    listing = superuser_client.get("/admin/bookings/booking/").text
    assert "?source=getmyboat" in listing and ">GetMyBoat<" in listing


def test_built_in_is_not_trusted_a_getmyboat_webhook_without_secrets_is_401(client, queen):
    event = load_event("booking_created__confirmed")
    response = post_signed(client, event, url="/webhooks/bookings/getmyboat/")
    assert response.status_code == 401
    assert not Booking.objects.exists()


def test_an_unconfigured_source_is_still_refused_by_the_api(client, api_token, settings, queen):
    settings.CHARTEROPS_INTAKE_SOURCES = []
    response = client.post(
        "/api/bookings/?source=harbor-desk",
        data=booking_of("booking_created__confirmed"),
        content_type="application/json",
        headers={"X-Dashboard-Token": api_token},
    )
    assert response.status_code == 422 and "source" in response.json()["fields"]
