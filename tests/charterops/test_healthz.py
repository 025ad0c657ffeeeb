"""Liveness and readiness probes: what they check and that they answer before host checks."""

import os
from datetime import timedelta

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] in {"in-process", "ok"}
    assert body["database_engine"] in {"sqlite", "postgresql"}


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="runs on the PostgreSQL pass")
def test_the_production_pass_really_runs_on_postgresql(client):
    assert client.get("/healthz").json()["database_engine"] == "postgresql"


def test_the_home_address_leads_staff_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_readyz_is_ready_when_every_dependency_answers_and_nothing_waits(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ready" and body["failing"] == []
    assert (body["database"], body["cache"], body["storage"]) == ("ok", "ok", "ok")
    assert body["broker"] in {"in-process", "ok"}
    assert body["oldest_stuck_seconds"] == {
        "fanout": None,
        "webhook_delivery": None,
        "outbox": None,
    }


def test_readyz_names_the_age_of_the_oldest_stuck_fanout_row(client, booking):
    from django.utils import timezone

    from charterops.models import TargetState

    TargetState.objects.filter(booking=booking).delete()
    TargetState.objects.create(
        booking=booking,
        target="calendar",
        status="retrying",
        next_attempt_at=timezone.now() - timedelta(hours=1),
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["stuck_fanout"]
    assert 3590 < body["oldest_stuck_seconds"]["fanout"] < 3700


def test_readyz_names_the_age_of_the_oldest_queued_webhook_delivery(client, settings):
    from django.utils import timezone

    from bookings.models import WebhookDelivery

    delivery = WebhookDelivery.objects.create(source="boatsetter", body="{}", outcome="queued")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        received_at=timezone.now() - timedelta(minutes=20)
    )
    settings.CHARTEROPS_READY_MAX_STUCK_SECONDS = 600
    body = client.get("/readyz").json()
    assert body["failing"] == ["stuck_webhook_delivery"]
    assert body["oldest_stuck_seconds"]["webhook_delivery"] >= 1200


def test_readyz_fails_when_the_photo_bucket_is_unreachable(client, aws, settings):
    settings.CHARTEROPS_STORAGE = "s3"  # moto, with no bucket created
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]
    assert response.json()["storage"].startswith("error")


def test_probes_answer_over_plain_http_by_ip_before_host_and_https_checks(client, settings):
    settings.ALLOWED_HOSTS = ["ops.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    for probe in ("/healthz", "/readyz"):
        response = client.get(probe, HTTP_HOST="10.0.0.5:8000")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
    assert client.get("/admin/", HTTP_HOST="10.0.0.5:8000").status_code == 400
    assert client.get("/admin/", HTTP_HOST="ops.example.com").status_code == 301  # to https


def test_readyz_names_the_age_of_the_oldest_due_outbox_message(client, settings):
    from django.utils import timezone

    from crew.models import Notification
    from tests.factories import NotificationFactory

    note = NotificationFactory()
    Notification.objects.filter(pk=note.pk).update(
        status="queued", created_at=timezone.now() - timedelta(hours=2), next_attempt_at=None
    )
    body = client.get("/readyz").json()
    assert "stuck_outbox" in body["failing"]
    assert body["oldest_stuck_seconds"]["outbox"] >= 7200


def test_an_app_adds_a_queue_to_readyz_by_registering_it(client, monkeypatch):
    """The hub names no app's queue: bookings registers webhook_delivery, any app may add one."""
    from charterops import health

    monkeypatch.setitem(health.STUCK_CHECKS, "exports", lambda now: now - timedelta(hours=1))
    body = client.get("/readyz").json()
    assert body["failing"] == ["stuck_exports"]
    assert body["oldest_stuck_seconds"]["exports"] >= 3600
    assert set(body["oldest_stuck_seconds"]) == {"fanout", "outbox", "webhook_delivery", "exports"}
