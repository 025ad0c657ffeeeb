"""Reusable authentication suites: subclass one per endpoint (see test_webhook_auth, test_api_auth).

Each suite states what every endpoint of its kind must do with missing, wrong, expired,
revoked or rotated credentials, so a new endpoint gets the whole list by subclassing.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import ApiToken, Booking, WebhookDelivery
from bookings.signatures import signature_header
from bookings.tokens import api_token_issue, api_token_revoke

from .intake_support import OLD_SECRET, SECRET, load_event, post_signed, webhook_secrets_set


class SignatureAuthSuite:
    """For an HMAC-signed webhook. Subclasses set ``url`` and may override ``event()``."""

    url = ""
    #: the source whose secrets the suite rotates and removes (``CHARTEROPS_WEBHOOK_SECRETS``)
    source = ""

    def event(self) -> dict:
        return load_event("booking_created__confirmed")

    def post(self, client, **kwargs):
        return post_signed(client, self.event(), url=self.url, **kwargs)

    def test_missing_signature_header_is_401_and_nothing_is_stored(self, client, configured):
        response = client.post(self.url, data=b"{}", content_type="application/json")
        assert response.status_code == 401
        assert "X-CharterOps-Signature" in response.json()["error"]
        assert not WebhookDelivery.objects.exists()

    def test_wrong_secret_is_401_and_the_delivery_is_kept(self, client, configured):
        response = self.post(client, secret="whsec_guessed")
        assert response.status_code == 401
        assert response.json()["error"] == "signature does not match"
        delivery = WebhookDelivery.objects.get()
        assert (delivery.outcome, delivery.http_status) == ("bad_signature", 401)
        assert not Booking.objects.exists()

    def test_malformed_signature_header_is_401(self, client, configured):
        response = self.post(client, header="sha256=deadbeef")
        assert response.status_code == 401
        assert "malformed" in response.json()["error"]

    def test_signature_over_another_body_is_401(self, client, configured):
        other = signature_header(b"{}", SECRET)
        response = self.post(client, header=other)
        assert response.status_code == 401

    @pytest.mark.parametrize("skew", [-301, 301], ids=["too-old", "too-far-in-future"])
    def test_timestamp_outside_the_five_minute_window_is_401(self, client, configured, skew):
        response = self.post(client, timestamp=int(time.time()) + skew)
        assert response.status_code == 401
        assert "5-minute window" in response.json()["error"]
        assert not Booking.objects.exists()

    def test_timestamp_inside_the_window_is_accepted(self, client, configured):
        assert self.post(client, timestamp=int(time.time()) - 240).status_code == 202

    @pytest.mark.parametrize("secret", [SECRET, OLD_SECRET], ids=["new", "old"])
    def test_every_secret_of_a_rotation_is_accepted(self, client, configured, secret):
        assert self.post(client, secret=secret).status_code == 202

    def test_a_retired_secret_is_refused(self, client, configured, settings):
        webhook_secrets_set(settings, self.source, SECRET)  # the rotation finished
        assert self.post(client, secret=OLD_SECRET).status_code == 401

    def test_a_source_without_a_secret_refuses_everything(self, client, configured, settings):
        webhook_secrets_set(settings, self.source)
        response = self.post(client)
        assert response.status_code == 401
        assert "no webhook secret is configured" in response.json()["error"]
        assert not Booking.objects.exists()
        assert WebhookDelivery.objects.get().outcome == "bad_signature"


class TokenAuthSuite:
    """For an X-Dashboard-Token endpoint. Subclasses implement ``request(client, headers)``."""

    def request(self, client, headers: dict[str, str]):
        raise NotImplementedError

    def _call(self, client, token: str | None):
        return self.request(client, {"X-Dashboard-Token": token} if token is not None else {})

    def assert_refused(self, response, reason: str) -> None:
        assert response.status_code == 401
        assert response.json() == {"error": reason}  # the reason, and nothing else

    def test_missing_token_is_401(self, client, prepared):
        self.assert_refused(self._call(client, None), "missing X-Dashboard-Token header")

    def test_wrong_token_is_401(self, client, prepared):
        self.assert_refused(self._call(client, "cot_not-a-real-token"), "unknown token")

    def test_expired_token_is_401(self, client, prepared):
        token, raw = api_token_issue("expired-tool", days=1)
        ApiToken.objects.filter(pk=token.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        self.assert_refused(self._call(client, raw), "token expired")

    def test_revoked_token_is_401(self, client, prepared):
        token, raw = api_token_issue("revoked-tool")
        api_token_revoke(token)
        self.assert_refused(self._call(client, raw), "token revoked")

    def test_valid_token_is_let_in_and_its_use_is_noted(self, client, prepared):
        token, raw = api_token_issue("good-tool")
        response = self._call(client, raw)
        assert response.status_code in (200, 201), response.content
        token.refresh_from_db()
        assert token.last_used_at is not None


class ServiceKeyAuthSuite:
    """For a service-key endpoint (``X-Service-Key`` or a bearer token, SHA-256 digests in
    ``SERVICE_KEY_HASH``). Subclasses implement ``request(client, headers)`` and ``stored()``
    (whether the request left anything behind)."""

    key = "svc-key-current-0123456789"
    old_key = "svc-key-previous-9876543210"

    def request(self, client, headers: dict[str, str]):
        raise NotImplementedError

    def stored(self) -> bool:
        raise NotImplementedError

    @staticmethod
    def digest(key: str) -> str:
        import hashlib

        return hashlib.sha256(key.encode()).hexdigest()

    @pytest.fixture(autouse=True)
    def _keys(self, settings):
        settings.SERVICE_KEY_HASH = f"{self.digest(self.key)}, {self.digest(self.old_key)}"

    def assert_refused(self, response) -> None:
        assert response.status_code == 401
        assert response.json() == {"error": "A valid service key is required."}
        assert not self.stored()

    @pytest.mark.parametrize("key", [None, "", "wrong-key"], ids=["missing", "empty", "wrong"])
    def test_a_missing_or_wrong_key_is_401(self, client, prepared, key):
        headers = {"X-Service-Key": key} if key is not None else {}
        self.assert_refused(self.request(client, headers))

    def test_a_key_with_trailing_space_is_401(self, client, prepared):
        self.assert_refused(self.request(client, {"X-Service-Key": self.key + " "}))

    @pytest.mark.parametrize("which", ["key", "old_key"], ids=["new", "old"])
    def test_every_key_of_a_rotation_is_let_in(self, client, prepared, which):
        response = self.request(client, {"X-Service-Key": getattr(self, which)})
        assert response.status_code in (200, 201), response.content

    def test_a_bearer_token_is_let_in(self, client, prepared):
        response = self.request(client, {"Authorization": f"Bearer {self.key}"})
        assert response.status_code in (200, 201), response.content

    def test_a_retired_key_is_refused(self, client, prepared, settings):
        settings.SERVICE_KEY_HASH = self.digest(self.key)  # the rotation finished
        self.assert_refused(self.request(client, {"X-Service-Key": self.old_key}))

    def test_without_any_digest_the_endpoint_is_closed(self, client, prepared, settings):
        settings.SERVICE_KEY_HASH = ""
        response = self.request(client, {"X-Service-Key": self.key})
        assert response.status_code == 503 and not self.stored()
