"""POST /api/events: the SCC-compatible way to create a charter and its crew."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest

from bookings.models import Booking
from charterops.models import AuditEvent
from crew.models import CrewAssignment
from crew.scc_api import service_key_valid
from tests import factories

pytestmark = pytest.mark.django_db
KEY = "scc-service-key-0123456789"
URL = "/api/events"
FIXTURES = Path(__file__).parent / "fixtures"


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
    return factories.BoatFactory(name="Bella Vista", slug="bella-vista", external_id="b-bella")


def event(name: str = "scc_event__with_crew", **overrides):
    """A recorded SCC request (``fixtures/<event>__<variant>.json``) with top-level overrides."""
    body = json.loads((FIXTURES / f"{name}.json").read_text())
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
    # One request, one audit row: the booking and its crew together, by the SCC source.
    (row,) = AuditEvent.objects.filter(booking=booking)
    assert (row.action, row.actor_kind, row.actor_label) == (
        "bookings.booking.created",
        "source",
        "scc-api",
    )
    assert row.data["also"] == {"crew": {"added": ["Cora Captain", "Dee Deckhand"]}}
    assert booking.version == 1


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
    # One version bump and one audit row for the booking change and the crew change together.
    assert booking.version == 2
    (row,) = AuditEvent.objects.filter(action="bookings.booking.updated")
    assert row.data["changes"] == {
        "meeting_point": ["Harbor Island West Marina, dock C", "Shelter Island"]
    }
    assert row.data["also"] == {"crew": {"changed": ["Cora Captain"], "removed": ["Dee Deckhand"]}}
    assert row.data["material"] is True


def test_a_crew_change_alone_is_one_version_and_one_row(client, crew, boat):
    post(client, event())
    post(client, event(crew=[{"email": "cora@example.com", "role": "captain", "pay": "300"}]))
    booking = Booking.objects.get()
    assert booking.version == 2
    (row,) = AuditEvent.objects.filter(action="bookings.booking.updated")
    assert row.data["changes"] == {} and row.data["also"] == {"crew": {"removed": ["Dee Deckhand"]}}


def test_fields_the_scc_format_does_not_carry_are_left_alone(client, crew, boat):
    booking = factories.BookingFactory(
        boat=boat, source="boatsetter", external_id="BS-4821937", boat_price=Decimal("950.00")
    )
    post(client, event())
    booking.refresh_from_db()
    assert booking.boat_price == Decimal("950.00")  # the marketplace's price stays


def test_times_without_an_offset_are_pacific_and_the_default_source_is_scc(client, boat):
    response = post(client, event("scc_event__naive_times_no_crew"))
    assert response.status_code == 201, response.content
    booking = Booking.objects.get()
    assert (booking.source, booking.external_id) == ("scc", "SCC-1207")
    assert booking.local_start.hour == 9 and booking.boat == boat


def test_a_retired_boat_is_not_matched(client, crew, boat):
    boat.active = False
    boat.save()
    response = post(client, event())
    assert response.status_code == 422
    assert "no active boat" in response.json()["fields"]["boat"][0]


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
    # The crew are told, and the guest gets her confirmation (the guest_notify target).
    assert sorted(m.to[0] for m in mailoutbox) == [
        "ana@example.com",
        "cora@example.com",
        "dee@example.com",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"boat": "no-such-boat"}, "boat"),
        ({"boat": "bella-vista"}, "boat"),  # slugs are not a way to name a boat: id or name
        ({"source": "zeta"}, "source"),
        ({"guest_name": "Ana\u0000Reyes"}, "guest_name"),
        ({"location": "x" * 301}, "location"),
        (
            {"charter_time": {"start": "2026-02-30T10:00", "end": "2026-03-01T10:00"}},
            "charter_time.start",
        ),
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
            "charter_time.end",
        ),
    ],
)
def test_bad_requests_are_refused_with_the_field_named(client, crew, boat, change, field):
    response = post(client, event(**change))
    assert response.status_code == 422
    assert response.json()["error"] == "The request was not applied."
    assert field in response.json()["fields"], response.json()
    assert not Booking.objects.exists()


def test_unknown_crew_addresses_are_named(client, crew, boat):
    response = post(client, event(crew=[{"email": "stranger@example.com"}]))
    assert response.json()["fields"]["crew"] == [
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
    response = client.post(URL, "a=b", content_type="text/plain", HTTP_X_SERVICE_KEY=KEY)
    assert (response.status_code, response["Content-Type"]) == (415, "application/json")


def test_deep_nesting_is_a_400_not_a_500(client):
    body = "[" * 50_000 + "]" * 50_000
    response = client.post(URL, body, content_type="application/json", HTTP_X_SERVICE_KEY=KEY)
    assert response.status_code in (400, 413)
    body = '{"booking_id": ' + "[" * 40 + "]" * 40 + "}"
    response = client.post(URL, body, content_type="application/json", HTTP_X_SERVICE_KEY=KEY)
    assert response.status_code == 400 and "nested" in response.json()["error"]
