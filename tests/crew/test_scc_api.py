"""POST /api/events: the SCC-compatible way to create a charter and its crew."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest

from bookings.models import Booking
from charterops.models import AuditEvent
from crew.models import CrewAssignment
from crew.scc_api import service_key_valid
from tests import factories

pytestmark = pytest.mark.django_db
KEY = "scc-service-key-0123456789"
URL = "/api/events"


@pytest.fixture(autouse=True)
def _service_key(settings):
    settings.SERVICE_KEY_HASH = hashlib.sha256(KEY.encode()).hexdigest()


@pytest.fixture
def crew():
    return {
        "cora": factories.CrewMemberFactory(name="Cora Captain", email="cora@example.com"),
        "dee": factories.CrewMemberFactory(name="Dee Deckhand", email="dee@example.com"),
    }


@pytest.fixture
def boat():
    return factories.BoatFactory(name="Bella Vista", slug="bella-vista")


def event(**overrides):
    body = {
        "booking_id": "BS-4821937",
        "source": "boatsetter",
        "boat": "bella-vista",
        "guest_name": "Ana Reyes",
        "guest_email": "ana@example.com",
        "party_size": 6,
        "charter_time": {"start": "2026-12-12T10:00:00-08:00", "end": "2026-12-12T14:00:00-08:00"},
        "location": "Harbor Island West Marina, dock C",
        "crew": [
            {"email": "cora@example.com", "role": "captain", "pay": "300.00"},
            {"email": "DEE@example.com", "role": "deckhand", "pay": "150"},
        ],
    }
    body.update(overrides)
    return body


def post(client, body, *, key: str | None = KEY, header: str = "HTTP_X_SERVICE_KEY"):
    extra = {header: (f"Bearer {key}" if header == "HTTP_AUTHORIZATION" else key)} if key else {}
    return client.post(URL, json.dumps(body), content_type="application/json", **extra)


def test_creates_the_charter_and_its_crew_and_answers_the_event_id(client, crew, boat):
    response = post(client, event())

    assert response.status_code == 201
    data = response.json()
    booking = Booking.objects.get(external_id="BS-4821937")
    assert data["event_id"] == str(booking.pk) and data["created"] is True
    assert data["crew_url"].endswith(f"/crew/events/{booking.pk}/")
    assert booking.boat == boat and booking.meeting_point == "Harbor Island West Marina, dock C"
    assert booking.local_start.hour == 10
    assignments = {a.member.name: (a.role, a.pay) for a in booking.assignments.all()}
    assert assignments == {
        "Cora Captain": ("captain", Decimal("300.00")),
        "Dee Deckhand": ("deckhand", Decimal("150.00")),
    }
    actions = set(AuditEvent.objects.filter(booking=booking).values_list("action", flat=True))
    assert {"bookings.booking.created", "bookings.booking.crew_changed"} <= actions


def test_the_same_request_twice_changes_nothing(client, crew, boat):
    post(client, event())
    booking = Booking.objects.get()
    audit_rows = AuditEvent.objects.count()

    response = post(client, event())

    assert response.status_code == 200 and response.json()["created"] is False
    booking_after = Booking.objects.get()
    assert booking_after.version == booking.version
    assert AuditEvent.objects.count() == audit_rows


def test_an_update_moves_the_charter_and_changes_the_crew(client, crew, boat):
    post(client, event())
    booking = Booking.objects.get()

    response = post(
        client,
        event(
            location="Shelter Island",
            crew=[{"email": "cora@example.com", "role": "captain", "pay": "325.00"}],
        ),
    )

    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.meeting_point == "Shelter Island"
    assert list(booking.assignments.values_list("member__name", "pay")) == [
        ("Cora Captain", Decimal("325.00"))
    ]
    crew_change = AuditEvent.objects.filter(action="bookings.booking.crew_changed").first()
    assert crew_change.data == {"changed": ["Cora Captain"], "removed": ["Dee Deckhand"]}


def test_a_cancelled_status_cancels_the_charter(client, crew, boat):
    post(client, event())
    response = post(client, event(status="cancelled"))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert Booking.objects.get().status == "cancelled"


def test_without_crew_the_assignments_are_left_alone(client, crew, boat):
    post(client, event())
    body = event()
    del body["crew"]
    post(client, body)
    assert CrewAssignment.objects.count() == 2


def test_creating_through_the_api_tells_the_crew(
    client, crew, boat, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, event())
    assert sorted(m.to[0] for m in mailoutbox) == ["cora@example.com", "dee@example.com"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"boat": "no-such-boat"}, "boat"),
        ({"charter_time": {"start": "soon", "end": "later"}}, "charter_time.start"),
        ({"crew": [{"email": "stranger@example.com", "role": "captain"}]}, "crew"),
        ({"crew": [{"email": "cora@example.com", "role": "admiral"}]}, "crew"),
        ({"crew": [{"email": "cora@example.com", "pay": "-5"}]}, "crew"),
        ({"booking_id": ""}, "booking_id"),
        (
            {
                "charter_time": {
                    "start": "2026-12-12T14:00:00-08:00",
                    "end": "2026-12-12T10:00:00-08:00",
                }
            },
            "end",  # the model names the field that breaks the rule
        ),
    ],
)
def test_bad_requests_are_refused_with_the_field_named(client, crew, boat, change, field):
    response = post(client, event(**change))
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Booking.objects.exists()


def test_unknown_crew_addresses_are_named(client, crew, boat):
    response = post(client, event(crew=[{"email": "stranger@example.com"}]))
    assert response.json()["errors"]["crew"] == [
        "#1: no crew member has the address stranger@example.com"
    ]


@pytest.mark.parametrize("key", [None, "", "wrong-key", KEY + " "])
def test_a_missing_or_wrong_key_is_refused(client, crew, boat, key):
    response = post(client, event(), key=key)
    assert response.status_code == 401
    assert not Booking.objects.exists()


def test_a_bearer_token_is_accepted_too(client, crew, boat):
    assert post(client, event(), header="HTTP_AUTHORIZATION").status_code == 201


def test_several_hashes_allow_rotation(settings):
    old = hashlib.sha256(b"old-key").hexdigest()
    settings.SERVICE_KEY_HASH = f"{old}, {hashlib.sha256(KEY.encode()).hexdigest().upper()}"
    assert service_key_valid("old-key") and service_key_valid(KEY)
    assert not service_key_valid("other")


def test_the_api_is_closed_when_no_hash_is_configured(client, settings, crew, boat):
    settings.SERVICE_KEY_HASH = ""
    assert post(client, event()).status_code == 503


def test_only_post_with_json(client):
    assert client.get(URL, HTTP_X_SERVICE_KEY=KEY).status_code == 405
    response = client.post(URL, "not json", content_type="application/json", HTTP_X_SERVICE_KEY=KEY)
    assert response.status_code == 400
