"""Every API operation refuses missing, wrong, expired and revoked tokens (the reusable suite)."""

import pytest

from tests.factories import BookingFactory

from .auth_suite import TokenAuthSuite
from .intake_support import booking_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def prepared(queen):
    return BookingFactory(boat=queen)


class TestListAuth(TokenAuthSuite):
    def request(self, client, headers):
        return client.get("/api/bookings/", headers=headers)


class TestDetailAuth(TokenAuthSuite):
    def request(self, client, headers):
        from bookings.models import Booking

        return client.get(f"/api/bookings/{Booking.objects.get().pk}/", headers=headers)


class TestCreateAuth(TokenAuthSuite):
    def request(self, client, headers):
        return client.post(
            "/api/bookings/",
            data=booking_of("booking_created__confirmed"),
            content_type="application/json",
            headers=headers,
        )


def test_the_schema_is_public_but_documents_the_token(client):
    schema = client.get("/api/schema/").json()
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("name") == "X-Dashboard-Token" for s in schemes.values())
