"""Issuing and revoking API tokens in the admin: the secret is shown once, then never again."""

import re

import pytest
from django.urls import reverse

from bookings.models import ApiToken
from bookings.tokens import api_token_issue, api_token_verify

pytestmark = pytest.mark.django_db


def test_issuing_a_token_shows_it_once_and_stores_only_its_hash(admin_client):
    response = admin_client.post(
        reverse("admin:bookings_apitoken_add"), {"name": "dispatch-board", "days": "30"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    raw = re.search(r'value="(cot_[^"]+)"', page).group(1)
    token = api_token_verify(raw)
    assert token.name == "dispatch-board" and token.created_by.username == "admin"
    # Afterwards the secret is nowhere: not in the change page, not in the list.
    change = admin_client.get(reverse("admin:bookings_apitoken_change", args=[token.pk]))
    listing = admin_client.get(reverse("admin:bookings_apitoken_changelist"))
    assert raw not in change.content.decode() and raw not in listing.content.decode()
    assert token.prefix in listing.content.decode()


def test_a_taken_name_is_a_form_error(admin_client):
    api_token_issue("board")
    response = admin_client.post(
        reverse("admin:bookings_apitoken_add"), {"name": "board", "days": "90"}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert ApiToken.objects.count() == 1


def test_the_revoke_action_revokes_the_selected_tokens(admin_client):
    token, raw = api_token_issue("leaked")
    admin_client.post(
        reverse("admin:bookings_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by.username == "admin"
