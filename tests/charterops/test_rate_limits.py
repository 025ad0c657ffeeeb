"""Every token-authenticated or anonymous entry has a per-address budget in the shared cache."""

from __future__ import annotations

import pytest

from tests.factories import BookingFactory

pytestmark = pytest.mark.django_db


def _entries(booking_id: int) -> dict[str, tuple[str, str, dict]]:
    """group -> (method, path, extra request kwargs): one request each entry would get."""
    return {
        "crew-link": ("get", f"/crew/events/{booking_id}/?sesame=AAAAAQAAAAxforged", {}),
        "api-token": ("get", "/api/bookings/", {"HTTP_X_DASHBOARD_TOKEN": "ct_forged"}),
        "scc-api": ("post", "/api/events", {"HTTP_X_SERVICE_KEY": "forged"}),
        "feed-token": ("get", "/calendar/forged-feed-token.ics", {}),
        "local-upload": ("post", "/uploads/local/", {}),
        "photo-view": ("get", "/uploads/photo/forged", {}),
        "guest-page": ("get", "/g/abcdefghijkl", {}),
        "guest-endpoint": ("post", "/g/abcdefghijkl/presign", {"content_type": "application/json"}),
    }


@pytest.mark.parametrize("group", list(_entries(1)))
def test_each_entry_refuses_an_address_past_its_budget_and_serves_the_others(
    client, settings, group
):
    booking = BookingFactory()
    method, path, extra = _entries(booking.pk)[group]
    settings.CHARTEROPS_RATE_LIMITS = {**settings.CHARTEROPS_RATE_LIMITS, group: "3/m"}
    send = getattr(client, method)
    first = [send(path, REMOTE_ADDR="203.0.113.9", **extra).status_code for _ in range(3)]
    assert 429 not in first
    refused = send(path, REMOTE_ADDR="203.0.113.9", **extra)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert send(path, REMOTE_ADDR="203.0.113.10", **extra).status_code != 429


def test_crew_pages_opened_from_a_session_are_not_counted_as_token_checks(client, settings):
    booking = BookingFactory()
    settings.CHARTEROPS_RATE_LIMITS = {**settings.CHARTEROPS_RATE_LIMITS, "crew-link": "1/m"}
    statuses = [client.get(f"/crew/events/{booking.pk}/").status_code for _ in range(3)]
    assert 429 not in statuses  # no token: the session decides (here: refused, 403)


def test_behind_the_proxy_the_budget_is_the_clients_not_nginxs(client, settings):
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_FORWARDED_FOR"
    settings.CHARTEROPS_RATE_LIMITS = {**settings.CHARTEROPS_RATE_LIMITS, "feed-token": "1/m"}
    path = "/calendar/forged-feed-token.ics"
    assert client.get(path, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 404
    assert client.get(path, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert client.get(path, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 404
