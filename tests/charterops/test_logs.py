"""Operators' logs: JSON lines with request, booking, target and delivery ids, and no secrets."""

from __future__ import annotations

import io
import json
import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from bookings.calendar.feed import calendar_feed_token_issue, calendar_feed_url
from bookings.models import Booking
from bookings.tokens import api_token_issue
from charterops.observability import ContextFilter, JsonFormatter, redact
from crew.notifications import booking_crew_notify
from tests.bookings.intake_support import SECRET, load_event, post_signed, webhook_secrets_set
from tests.factories import BoatFactory, CrewAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_logs(monkeypatch):
    """Everything logged during the test, as the production handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root, ops = logging.getLogger(), logging.getLogger("charterops.ops")
    previous = root.level, ops.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    ops.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous[0])
    ops.setLevel(previous[1])


def test_a_full_journey_logs_its_ids_and_never_a_token_link_or_secret(
    client, json_logs, settings, django_capture_on_commit_callbacks
):
    webhook_secrets_set(settings, "boatsetter", SECRET)
    BoatFactory(name="Queen of San Diego", external_id="b-77", capacity=12)
    # 1. the marketplace's webhook creates the booking; the fan-out runs on commit
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(client, load_event("booking_created__confirmed"))
    assert response.status_code == 202
    delivery_id = response.json()["delivery"]
    booking = Booking.objects.get()
    # 2. crew are told, and open their magic link
    CrewAssignmentFactory(booking=booking)
    booking_crew_notify(booking)
    link = re.search(r"https?://\S+sesame=[^\s\"'<>&]+", mail.outbox[-1].body).group(0)
    sesame = parse_qs(urlsplit(link).query)["sesame"][0]
    assert client.get(link.removeprefix(settings.SITE_URL), follow=True).status_code == 200
    # 3. a calendar app polls a feed; an API client lists bookings; someone forges tokens
    feed = calendar_feed_token_issue(user=UserFactory(is_staff=True))
    assert client.get(calendar_feed_url(feed).removeprefix(settings.SITE_URL)).status_code == 200
    _, api_token = api_token_issue("dispatch-board")
    assert client.get("/api/bookings/", HTTP_X_DASHBOARD_TOKEN=api_token).status_code == 200
    client.get("/calendar/" + "forged" + "x" * 30 + ".ics")
    client.get(f"/crew/events/{booking.pk}/?sesame={sesame[:-4]}AAAA")

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    assert lines, "the journey logged nothing"
    requests = [line for line in lines if line["message"] == "request"]
    assert all(re.fullmatch(r"[0-9a-f]{32}", line["request_id"]) for line in requests)
    assert any(line.get("booking_id") == booking.pk for line in requests)
    assert any(line.get("delivery_id") == delivery_id for line in lines)
    targets = {line.get("target") for line in lines if line.get("booking_id") == booking.pk}
    assert {"calendar", "crew", "guest_page"} <= targets
    assert any(line.get("notification_id") for line in lines)

    text = json_logs.getvalue()
    for secret in (sesame, link, feed.token, api_token, SECRET, settings.SECRET_KEY):
        assert secret not in text, f"a log line carries {secret[:6]}..."
    assert "sesame=" not in text.replace("sesame=[redacted]", "")


def test_responses_carry_the_request_id_and_keep_a_sane_one_from_the_proxy(client):
    generated = client.get("/admin/login/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    kept = client.get("/admin/login/", HTTP_X_REQUEST_ID="nginx-3f2a9c8e1b7d")
    assert kept["X-Request-ID"] == "nginx-3f2a9c8e1b7d"
    hostile = client.get("/admin/login/", HTTP_X_REQUEST_ID='"}, {"level": "x')
    assert hostile["X-Request-ID"] != '"}, {"level": "x'


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("GET /crew/events/4/?sesame=AAAAAQAAAAx2u5s8Yh3kQ", "AAAAAQAAAAx2u5s8Yh3kQ"),
        ("Not Found: /calendar/Zk3p9Q_aLm2Rt7Vx1cWy8bNe.ics", "Zk3p9Q_aLm2Rt7Vx1cWy8bNe"),
        ("X-Dashboard-Token: ct_4b1f0c9e2d7a", "ct_4b1f0c9e2d7a"),
        ("https://s3/x?X-Amz-Signature=abc123&X-Amz-Credential=AKIA", "abc123"),
    ],
)
def test_redaction_removes_what_looks_like_a_credential(text, leak):
    assert leak not in redact(text)


def test_sentry_events_lose_query_strings_cookies_and_credential_headers():
    from charterops.observability import _scrub_event

    event = {
        "request": {
            "url": "https://ops.example.com/crew/events/4/?sesame=AAAAAQAAAAx2u5s8Yh3kQ",
            "query_string": "sesame=AAAAAQAAAAx2u5s8Yh3kQ",
            "cookies": {"sessionid": "s"},
            "headers": {"X-Dashboard-Token": "ct_secret", "User-Agent": "phone"},
        }
    }
    scrubbed = json.dumps(_scrub_event(event, {}))
    assert "AAAAAQ" not in scrubbed and "ct_secret" not in scrubbed and "sessionid" not in scrubbed
    assert "phone" in scrubbed


def test_sentry_is_on_in_every_process_that_loads_settings_when_sentry_dsn_is_set(tmp_path):
    """Web, worker and beat all load settings: the DSN alone turns reporting on in each."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "from charterops.celery import app; from django.conf import settings; "
        "settings.SENTRY_DSN; import sentry_sdk; "
        "c = sentry_sdk.get_client(); print(c.is_active(), c.options['send_default_pii'])"
    )
    env = {
        **os.environ,
        "CHARTEROPS_MODE": "demo",
        "CHARTEROPS_VAR_DIR": str(tmp_path),
        "SENTRY_DSN": "https://public@sentry.invalid/1",
        "DJANGO_SETTINGS_MODULE": "charterops.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],  # what a worker or beat does first: load the app's conf
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip().splitlines()[-1] == "True False", result.stderr
