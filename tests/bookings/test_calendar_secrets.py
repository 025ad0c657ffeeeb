"""The service-account key: Secrets Manager (moto), a file, an env var; bounded caching; errors."""

from __future__ import annotations

import json

import boto3
import pytest

from bookings.calendar import google as google_calendar
from bookings.calendar.google import GoogleCalendarClient, google_calendar_client
from bookings.calendar.target import CalendarTarget
from bookings.integrations.secrets import (
    google_service_account_cache_clear,
    google_service_account_info,
)
from charterops.fanout.targets import PermanentError, TransientError
from tests.factories import BookingFactory

SECRET = "jada-google-service-account"


def service_account_key(email: str = "charterops@jada-ops.iam.gserviceaccount.com") -> dict:
    """A syntactically real key; the RSA key is made here, never used against Google."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return {
        "type": "service_account",
        "project_id": "jada-ops",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": email,
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    settings.CHARTEROPS_GOOGLE_CREDENTIALS_JSON = ""
    settings.CHARTEROPS_GOOGLE_CREDENTIALS_FILE = ""
    settings.CHARTEROPS_GOOGLE_SECRET_NAME = SECRET
    google_service_account_cache_clear()
    google_calendar._local.__dict__.clear()
    yield
    google_service_account_cache_clear()
    google_calendar._local.__dict__.clear()


@pytest.fixture(scope="module")
def key() -> dict:
    return service_account_key()


def _put_secret(settings, value: str) -> None:
    sm = boto3.client("secretsmanager", region_name=settings.AWS_REGION)
    sm.create_secret(Name=SECRET, SecretString=value)


def test_key_is_read_from_secrets_manager(aws, settings, key):
    _put_secret(settings, json.dumps(key))
    assert google_service_account_info()["client_email"] == key["client_email"]


def test_the_secret_is_cached_for_a_bounded_time(aws, settings, key, monkeypatch):
    _put_secret(settings, json.dumps(key))
    clock = [1000.0]
    monkeypatch.setattr("bookings.integrations.secrets.time.monotonic", lambda: clock[0])
    settings.CHARTEROPS_GOOGLE_SECRET_TTL = 300
    google_service_account_info()

    rotated = {**key, "client_email": "rotated@jada-ops.iam.gserviceaccount.com"}
    sm = boto3.client("secretsmanager", region_name=settings.AWS_REGION)
    sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps(rotated))

    clock[0] += 299
    assert google_service_account_info()["client_email"] == key["client_email"]  # cached
    clock[0] += 2
    assert google_service_account_info()["client_email"] == rotated["client_email"]  # re-read


def test_a_missing_secret_is_a_permanent_error_naming_it(aws):
    with pytest.raises(PermanentError) as caught:
        google_service_account_info()
    assert f"'{SECRET}'" in str(caught.value)
    assert "does not exist" in str(caught.value)


def test_a_missing_secret_fails_the_calendar_row_at_once(
    aws, settings, django_capture_on_commit_callbacks, db
):
    from charterops.fanout import engine
    from charterops.models import TargetState

    settings.CHARTEROPS_CALENDAR_BACKEND = "google"
    settings.CHARTEROPS_GOOGLE_CALENDAR_ID = "ops@group.calendar.google.com"
    settings.CHARTEROPS_FANOUT_TARGETS = {"calendar": CalendarTarget()}
    booking = BookingFactory()
    with django_capture_on_commit_callbacks(execute=True):
        engine.booking_fanout_request(booking)
    state = TargetState.objects.get(booking=booking)
    assert state.status == "failed"
    assert SECRET in state.last_error


def test_a_secret_that_is_not_a_service_account_key_says_what_to_do(aws, settings):
    _put_secret(settings, json.dumps({"type": "authorized_user", "refresh_token": "x"}))
    with pytest.raises(PermanentError, match="not a Google service-account key"):
        google_service_account_info()


def test_a_secret_that_is_not_json_is_permanent(aws, settings):
    _put_secret(settings, "-----BEGIN PRIVATE KEY-----")
    with pytest.raises(PermanentError, match="not valid JSON"):
        google_service_account_info()


def test_aws_throttling_is_transient(aws, monkeypatch):
    from botocore.exceptions import ClientError

    def throttled(self, operation_name, params):
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
            "GetSecretValue",
        )

    monkeypatch.setattr("botocore.client.BaseClient._make_api_call", throttled)
    with pytest.raises(TransientError, match="ThrottlingException"):
        google_service_account_info()


def test_a_file_replaces_secrets_manager(settings, tmp_path, key):
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(key))
    settings.CHARTEROPS_GOOGLE_CREDENTIALS_FILE = str(path)
    assert google_service_account_info()["private_key_id"] == key["private_key_id"]


def test_a_missing_file_is_a_permanent_error_naming_it(settings, tmp_path):
    settings.CHARTEROPS_GOOGLE_CREDENTIALS_FILE = str(tmp_path / "nope.json")
    with pytest.raises(PermanentError, match="nope.json"):
        google_service_account_info()


def test_an_environment_variable_comes_first(settings, tmp_path, key):
    settings.CHARTEROPS_GOOGLE_CREDENTIALS_FILE = str(tmp_path / "nope.json")
    settings.CHARTEROPS_GOOGLE_CREDENTIALS_JSON = json.dumps(key)
    assert google_service_account_info()["client_email"] == key["client_email"]


def test_client_is_built_offline_with_delegation_and_reused_per_thread(settings, key):
    settings.CHARTEROPS_GOOGLE_CREDENTIALS_JSON = json.dumps(key)
    settings.CHARTEROPS_GOOGLE_DELEGATED_USER = "ops@queenofsandiego.com"

    client = google_calendar_client()

    assert isinstance(client, GoogleCalendarClient)
    assert client.account == key["client_email"]
    credentials = client.service._http.credentials
    assert credentials._subject == "ops@queenofsandiego.com"
    assert credentials.scopes == ["https://www.googleapis.com/auth/calendar.events"]
    assert google_calendar_client() is client  # token and discovery reused

    settings.CHARTEROPS_GOOGLE_DELEGATED_USER = ""
    assert google_calendar_client() is not client  # configuration changed: rebuilt


# --- the service account's own token exchange (offline: Google's HTTP mock) ---------------------
def _jwt_claims(assertion: str) -> dict:
    import base64

    payload = assertion.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _client_on(key: dict, responses: list, *, subject: str = ""):
    from google.oauth2 import service_account
    from google_auth_httplib2 import AuthorizedHttp
    from googleapiclient.discovery import build
    from googleapiclient.http import HttpMockSequence

    credentials = service_account.Credentials.from_service_account_info(
        key, scopes=google_calendar.SCOPES, subject=subject or None
    )
    http = HttpMockSequence(responses)
    service = build(
        "calendar", "v3", http=AuthorizedHttp(credentials, http=http), static_discovery=True
    )
    return GoogleCalendarClient(service, account=key["client_email"], subject=subject), http


def test_a_delegated_client_asks_for_a_token_as_the_workspace_user_then_calls_with_it(key):
    from urllib.parse import parse_qs

    client, http = _client_on(
        key,
        [
            ({"status": "200"}, json.dumps({"access_token": "ya29.test", "expires_in": 3600})),
            ({"status": "200"}, json.dumps({"id": "abcde"})),
        ],
        subject="ops@queenofsandiego.com",
    )

    client.event_insert("ops@group.calendar.google.com", {"id": "abcde"})

    (token_uri, _, token_body, _), (api_uri, _, _, api_headers) = http.request_sequence
    assert token_uri == key["token_uri"]
    form = parse_qs(token_body.decode() if isinstance(token_body, bytes) else token_body)
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = _jwt_claims(form["assertion"][0])
    assert claims["iss"] == key["client_email"]
    assert claims["sub"] == "ops@queenofsandiego.com"
    assert claims["scope"] == "https://www.googleapis.com/auth/calendar.events"
    assert api_headers["authorization"] == "Bearer ya29.test"
    assert "sendUpdates=none" in api_uri


def test_refused_delegation_is_permanent_and_points_at_domain_wide_delegation(key):
    client, _ = _client_on(
        key,
        [
            (
                {"status": "401"},
                json.dumps(
                    {
                        "error": "unauthorized_client",
                        "error_description": "Client is unauthorized to retrieve access tokens "
                        "using this method, or client not authorized for any of the scopes.",
                    }
                ),
            )
        ],
        subject="ops@queenofsandiego.com",
    )
    with pytest.raises(PermanentError) as caught:
        client.event_insert("ops@group.calendar.google.com", {"id": "abcde"})
    message = str(caught.value)
    assert "domain-wide delegation" in message
    assert key["client_email"] in message
    assert "ops@queenofsandiego.com" in message


def test_a_deleted_key_is_permanent_and_says_to_make_a_new_one(key):
    client, _ = _client_on(
        key,
        [
            (
                {"status": "400"},
                json.dumps(
                    {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
                ),
            )
        ],
    )
    with pytest.raises(PermanentError, match="create a new key"):
        client.event_insert("ops@group.calendar.google.com", {"id": "abcde"})
