"""The webhook's signature checks: the reusable signature suite run against the Boatsetter URL."""

import pytest

from .auth_suite import SignatureAuthSuite
from .intake_support import WEBHOOK_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def configured(webhook_secrets, queen):
    return queen


class TestBoatsetterWebhookAuth(SignatureAuthSuite):
    url = WEBHOOK_URL
    source_variable = "CHARTEROPS_WEBHOOK_SECRETS_BOATSETTER"
