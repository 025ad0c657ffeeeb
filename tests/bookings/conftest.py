"""Fixtures of the bookings tests (intake: webhook secrets, the boat the payloads name, a token)."""

import pytest

from tests.bookings.intake_support import OLD_SECRET, SECRET
from tests.factories import BoatFactory


@pytest.fixture
def webhook_secrets(monkeypatch):
    """Boatsetter has two valid secrets (a rotation in progress)."""
    monkeypatch.setenv("CHARTEROPS_WEBHOOK_SECRETS_BOATSETTER", f"{SECRET}, {OLD_SECRET}")
    return [SECRET, OLD_SECRET]


@pytest.fixture
def queen(db):
    """The boat the recorded payloads name."""
    return BoatFactory(name="Queen of San Diego", external_id="b-77", capacity=12)


@pytest.fixture
def api_token(db):
    from bookings.tokens import api_token_issue

    token, raw = api_token_issue("dispatch-board")
    return raw
