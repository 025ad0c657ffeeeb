"""The health check names the database and broker state."""

import os

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
