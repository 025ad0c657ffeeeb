"""The webhook's signature checks: the reusable signature suite run against the Boatsetter URL."""

import pytest

from bookings.models import WebhookDelivery

from .auth_suite import SignatureAuthSuite
from .intake_support import WEBHOOK_URL, load_event, post_signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def configured(webhook_secrets, queen):
    return queen


class TestBoatsetterWebhookAuth(SignatureAuthSuite):
    url = WEBHOOK_URL
    source = "boatsetter"


def test_a_flood_of_forged_deliveries_is_not_stored_but_the_real_relay_gets_through(
    client, settings, webhook_secrets, queen
):
    settings.CHARTEROPS_WEBHOOK_REFUSALS_PER_MINUTE = 3
    forged = [
        post_signed(client, load_event("booking_created__confirmed"), secret="guess")
        for _ in range(5)
    ]
    assert [r.status_code for r in forged] == [401, 401, 401, 429, 429]
    assert "too many refused deliveries" in forged[-1].json()["error"]
    assert WebhookDelivery.objects.filter(outcome="bad_signature").count() == 3
    # Deliveries with the right secret never count against the address.
    assert post_signed(client, load_event("booking_created__confirmed")).status_code == 202
