"""The OpenAPI document declares every answer the API gives: a bounded schemathesis run.

Schemathesis generates requests from ``/api/schema/`` (valid and invalid ones) for every
operation, the webhook included, and checks each answer against the document: no 5xx, a
declared status, a JSON body of the declared shape. Bounded per operation so the run costs
seconds; the examples are derandomized so CI and a laptop run the same cases.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

pytestmark = pytest.mark.django_db

_django = get_wsgi_application()


def app(environ, start_response):
    """Django's WSGI app, called as a server would: with the client's address."""
    environ.setdefault("REMOTE_ADDR", "127.0.0.1")
    return _django(environ, start_response)


schema = schemathesis.openapi.from_wsgi("/api/schema/", app)


@pytest.fixture
def connections_kept():
    """Serve WSGI requests as Django's test client does: the test's connection stays open
    (the end of a request would otherwise close it, and with it the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, queen, connections_kept, settings):
    # the run is one address sending hundreds of requests: lift the per-address limits
    settings.CHARTEROPS_RATE_LIMITS = dict.fromkeys(settings.CHARTEROPS_RATE_LIMITS, "100000/m")
    from bookings.tokens import api_token_issue

    return api_token_issue("contract-run")[1]


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_declared_in_the_openapi_document(case, token, webhook_secrets):
    # positive_data_acceptance is left out: a schema-valid booking may still break a business
    # rule (an unknown boat, an unconfigured source), answered 422 with the field named.
    case.call_and_validate(
        headers={"X-Dashboard-Token": token},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
