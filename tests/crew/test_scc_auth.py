"""POST /api/events refuses missing, wrong and retired service keys (the reusable suite)."""

import json

import pytest

from bookings.models import Booking
from tests import factories
from tests.bookings.auth_suite import ServiceKeyAuthSuite

from .test_scc_api import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def prepared():
    factories.BoatFactory(name="Bella Vista", slug="bella-vista", external_id="b-bella")


class TestSccEventsAuth(ServiceKeyAuthSuite):
    def request(self, client, headers):
        return client.post(
            "/api/events",
            json.dumps(event("scc_event__naive_times_no_crew")),
            content_type="application/json",
            headers=headers,
        )

    def stored(self) -> bool:
        return Booking.objects.exists()
