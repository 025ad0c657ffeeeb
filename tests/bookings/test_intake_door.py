"""The door refuses what the worker would refuse: every bad input is a 4xx naming the field,
answered before anything is queued, by the webhook and the API alike (SCC: test_scc_api)."""

from __future__ import annotations

import json

import pytest

from bookings.models import Booking, WebhookDelivery

from .intake_support import load_event, post_signed

pytestmark = pytest.mark.django_db


def nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


def booking_with(**changes) -> dict:
    booking = load_event("booking_created__confirmed")["booking"]
    for path, value in changes.items():
        target = booking
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[part]
        target[leaf] = value
    return booking


#: (id, booking changes, the field named in the answer)
BAD_FIELDS = [
    ("nul-in-a-name", {"guest__name": "Ana\u0000Ruiz"}, "booking.guest.name"),
    ("lone-surrogate", {"meeting_point": "Dock \ud800"}, "booking.meeting_point"),
    ("nul-in-the-id", {"id": "BS-1\u0000"}, "booking.id"),
    ("name-too-long", {"guest__name": "A" * 201}, "booking.guest.name"),
    ("requests-too-long", {"special_requests": "x" * 5001}, "booking.special_requests"),
    ("no-such-day", {"start": "2026-02-30T10:00:00-08:00"}, "booking.start"),
    ("year-out-of-range", {"end": "9999-12-31T23:59:59-14:00"}, "booking.end"),
    ("epoch-number", {"start": 1764608531}, "booking.start"),
    ("price-not-a-number", {"pricing__boat_price": "NaN"}, "booking.pricing.boat_price"),
    ("price-too-large", {"pricing__boat_price": "1e12"}, "booking.pricing.boat_price"),
    ("party-of-zero", {"party_size": 0}, "booking.party_size"),
]


def nothing_queued() -> bool:
    return (
        not Booking.objects.exists()
        and not WebhookDelivery.objects.filter(outcome="queued").exists()
    )


class TestWebhookDoor:
    @pytest.fixture(autouse=True)
    def _configured(self, webhook_secrets, queen):
        pass

    @pytest.mark.parametrize(
        ("changes", "field"), [c[1:] for c in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS]
    )
    def test_a_bad_field_is_422_naming_it_and_nothing_is_queued(self, client, changes, field):
        event = load_event("booking_created__confirmed", booking=booking_with(**changes))
        response = post_signed(client, json.dumps(event))  # ASCII escapes: \ud800 on the wire
        assert response.status_code == 422, response.content
        assert field in response.json()["fields"]
        assert nothing_queued()
        assert WebhookDelivery.objects.get().outcome == "invalid"

    def test_nul_in_the_event_id_is_422(self, client):
        response = post_signed(client, load_event("booking_created__confirmed", id="evt\u0000"))
        assert response.status_code == 422 and "id" in response.json()["fields"]
        assert nothing_queued()

    @pytest.mark.parametrize("depth", [40, 100_000], ids=["beyond-the-limit", "past-recursion"])
    def test_deep_nesting_is_400_never_a_500(self, client, depth):
        event = load_event("booking_created__confirmed", extra=nested(depth))
        body = json.dumps(event) if depth < 1000 else _deep_body(event, depth)
        response = post_signed(client, body)
        assert response.status_code == 400
        assert "nested more than 32 levels" in response.json()["error"]
        assert nothing_queued()

    def test_a_body_that_is_not_json_typed_is_415_and_not_stored(self, client):
        event = load_event("booking_created__confirmed")
        response = post_signed(client, event, content_type="text/plain")
        assert response.status_code == 415
        assert response.json()["error"].startswith("the body must be application/json")
        assert not WebhookDelivery.objects.exists()

    def test_an_unconfigured_source_is_refused_not_stored_as_another(self, client):
        response = post_signed(
            client, load_event("booking_created__confirmed"), url="/webhooks/bookings/zeta/"
        )
        assert response.status_code == 401
        assert "no webhook secret is configured for source 'zeta'" in response.json()["error"]
        assert nothing_queued()


def _deep_body(event: dict, depth: int) -> str:
    """json.dumps itself recurses: build the deep value as text."""
    text = json.dumps({**event, "extra": "@"})
    return text.replace('"@"', "[" * depth + "]" * depth)


class TestApiDoor:
    @pytest.fixture(autouse=True)
    def _configured(self, queen):
        pass

    def post(self, client, token, body, *, content_type="application/json", query=""):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return client.post(
            f"/api/bookings/{query}",
            data=data,
            content_type=content_type,
            headers={"X-Dashboard-Token": token},
        )

    @pytest.mark.parametrize(
        ("changes", "field"), [c[1:] for c in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS]
    )
    def test_a_bad_field_is_422_naming_it(self, client, api_token, changes, field):
        response = self.post(client, api_token, booking_with(**changes))
        assert response.status_code == 422, response.content
        assert field in response.json()["fields"]
        assert not Booking.objects.exists()

    @pytest.mark.parametrize("depth", [40, 100_000], ids=["beyond-the-limit", "past-recursion"])
    def test_deep_nesting_is_400_json(self, client, api_token, depth):
        body = '{"id": ' + "[" * depth + "]" * depth + "}"
        response = self.post(client, api_token, body)
        assert response.status_code == 400
        assert response.json() == {"error": "body is nested more than 32 levels deep"}

    def test_not_json_is_400_json(self, client, api_token):
        response = self.post(client, api_token, "{not json")
        assert response.status_code == 400
        assert response.json()["error"].startswith("body is not valid JSON")

    @pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
    def test_a_body_that_is_not_json_typed_is_415(self, client, api_token, content_type):
        response = self.post(
            client, api_token, json.dumps(booking_with()), content_type=content_type
        )
        assert response.status_code == 415
        assert response["Content-Type"] == "application/json; charset=utf-8"
        assert not Booking.objects.exists()

    @pytest.mark.parametrize("source", ["zeta", "x" * 300, "Boatsetter"])
    def test_an_unconfigured_source_is_422_naming_it(self, client, api_token, source):
        response = self.post(client, api_token, booking_with(), query=f"?source={source}")
        assert response.status_code == 422
        assert "source" in response.json()["fields"]
        assert not Booking.objects.exists()

    def test_an_unknown_booking_is_a_json_404(self, client, api_token):
        response = client.get("/api/bookings/999/", headers={"X-Dashboard-Token": api_token})
        assert (response.status_code, response.json()) == (404, {"error": "not found"})
