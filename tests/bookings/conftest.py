"""Fixtures of the bookings tests (intake: webhook secrets, the boat the payloads name, a token)."""

import pytest

from tests.bookings.intake_support import OLD_SECRET, SECRET, webhook_secrets_set
from tests.factories import BoatFactory


@pytest.fixture
def webhook_secrets(settings):
    """Boatsetter has two valid secrets (a rotation in progress)."""
    webhook_secrets_set(settings, "boatsetter", SECRET, OLD_SECRET)
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
