"""The JSON API: create or update with the webhook's booking object, list a window, read one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking
from charterops.models import AuditEvent, TargetState
from tests.factories import BookingFactory

from .intake_support import booking_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, api_token):
    """A client that sends the dashboard token on every request."""

    class Api:
        def get(self, url, **params):
            return client.get(url, params, headers={"X-Dashboard-Token": api_token})

        def post(self, url, data, **query):
            suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
            return client.post(
                url + suffix,
                data=data,
                content_type="application/json",
                headers={"X-Dashboard-Token": api_token},
            )

    return Api()


def test_post_creates_a_booking_through_the_domain_function(api, queen):
    response = api.post("/api/bookings/", booking_of("booking_created__confirmed"))
    assert response.status_code == 201, response.content
    body = response.json()
    booking = Booking.objects.get()
    assert body["status"] == "created"
    assert body["booking"]["id"] == booking.pk
    assert (booking.source, booking.external_id) == ("direct", "BS-4821937")
    assert body["booking"]["boat"] == {"id": "b-77", "name": "Queen of San Diego"}
    assert body["booking"]["pricing"]["owner_payout"] == "855.00"
    assert {s["target"] for s in body["booking"]["fanout"]} == {
        "calendar",
        "crew",
        "checklist",
        "guest_page",
        "guest_notify",
    }
    audit = AuditEvent.objects.get(action="bookings.booking.created")
    assert audit.data["via"] == "api" and audit.actor_label == "api:dispatch-board"


def test_post_again_updates_the_same_booking_and_is_idempotent(api, queen):
    api.post("/api/bookings/", booking_of("booking_created__confirmed"))
    moved = booking_of("booking_updated__new_time")
    first = api.post("/api/bookings/", moved)
    again = api.post("/api/bookings/", moved)
    assert (first.status_code, first.json()["status"]) == (200, "updated")
    assert (again.status_code, again.json()["status"]) == (200, "unchanged")
    booking = Booking.objects.get()
    assert booking.version == 2 and booking.party_size == 8


def test_post_with_source_boatsetter_meets_the_webhook_booking(api, queen):
    existing = BookingFactory(boat=queen, source="boatsetter", external_id="BS-4821937")
    response = api.post(
        "/api/bookings/", booking_of("booking_created__confirmed"), source="boatsetter"
    )
    assert response.json()["booking"]["id"] == existing.pk
    assert Booking.objects.count() == 1


def test_post_with_a_cancelled_status_cancels(api, queen):
    api.post("/api/bookings/", booking_of("booking_created__confirmed"))
    response = api.post("/api/bookings/", booking_of("booking_cancelled__by_guest"))
    assert response.json()["status"] == "cancelled"
    assert Booking.objects.get().status == "cancelled"


def test_post_validation_errors_are_422_per_field(api, queen):
    payload = booking_of("booking_created__wrong_types")
    response = api.post("/api/bookings/", payload)
    assert response.status_code == 422
    assert {"booking.party_size", "booking.captain_required"} <= set(response.json()["fields"])
    assert not Booking.objects.exists()


def test_post_unknown_boat_is_422_naming_it(api, queen):
    response = api.post("/api/bookings/", booking_of("booking_created__unknown_boat"))
    assert response.status_code == 422
    assert "Flying Dutchman" in response.json()["fields"]["booking.boat"][0]


def test_list_filters_by_window_and_orders_by_start(api, queen):
    now = timezone.now()
    inside_late = BookingFactory(boat=queen, start=now + timedelta(days=5))
    inside_early = BookingFactory(boat=queen, start=now + timedelta(days=2))
    BookingFactory(boat=queen, start=now + timedelta(days=40))
    BookingFactory(boat=queen, start=now - timedelta(days=3))
    frm = timezone.localdate(now).isoformat()
    to = timezone.localdate(now + timedelta(days=30)).isoformat()
    response = api.get("/api/bookings/", **{"from": frm, "to": to})
    assert response.status_code == 200
    assert [b["id"] for b in response.json()] == [inside_early.pk, inside_late.pk]


def test_list_rejects_a_bad_date_with_422(api):
    response = api.get("/api/bookings/", **{"from": "next tuesday"})
    assert response.status_code == 422
    assert "from" in response.json()["fields"]


def test_list_query_count_does_not_grow_with_bookings(api, queen, django_assert_max_num_queries):
    for _ in range(30):
        BookingFactory(boat=queen)
    with django_assert_max_num_queries(3):  # token, token last-used, bookings with boats
        assert len(api.get("/api/bookings/").json()) == 30


def test_detail_shows_the_fanout_status_of_each_target(api, queen):
    booking = BookingFactory(boat=queen)
    TargetState.objects.create(
        booking=booking, target="calendar", desired_version=1, status="failed", last_error="403"
    )
    response = api.get(f"/api/bookings/{booking.pk}/")
    assert response.status_code == 200
    assert response.json()["fanout"][0] | {"last_synced_at": None} == {
        "target": "calendar",
        "status": "failed",
        "synced_version": 0,
        "desired_version": 1,
        "attempts": 0,
        "last_error": "403",
        "external_ref": "",
        "last_synced_at": None,
    }


def test_detail_of_a_missing_booking_is_404(api):
    assert api.get("/api/bookings/999999/").status_code == 404


def test_openapi_document_describes_the_api_and_the_webhook(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/bookings/", "/api/bookings/{booking_id}/"} <= set(schema["paths"])
    assert set(schema["paths"]["/api/bookings/"]) == {"get", "post"}
    webhook = schema["paths"]["/webhooks/bookings/{source}/"]["post"]
    assert {"202", "200", "400", "401", "413", "422"} <= set(webhook["responses"])
    assert webhook["parameters"][1]["name"] == "X-CharterOps-Signature"
    event = schema["components"]["schemas"]["WebhookEvent"]
    assert {"id", "type", "occurred_at", "booking"} <= set(event["required"])
    booking = schema["components"]["schemas"]["BookingIn"]
    assert "party_size" in booking["properties"]
