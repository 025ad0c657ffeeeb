"""The booking webhook: what each kind of delivery is answered, and what it changes.

Tasks run in-process here, so the worker that applies a queued delivery has done so by the
time the response arrives; tests/bookings/test_webhook_queue.py covers the queue itself.
"""

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.models import Booking, WebhookDelivery
from charterops.fanout.targets import get_targets
from charterops.models import AuditEvent, TargetState

from .intake_support import WEBHOOK_URL, load_event, post_signed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_secrets", "queen")]


def test_a_new_booking_is_accepted_created_and_fanned_out_on_commit(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_signed(client, load_event("booking_created__confirmed"))
    assert response.status_code == 202
    booking = Booking.objects.get()
    assert response.json() == {
        "status": "accepted",
        "booking": "BS-4821937",
        "delivery": WebhookDelivery.objects.get().pk,
    }
    assert (booking.source, booking.external_id, booking.status) == (
        "boatsetter",
        "BS-4821937",
        "confirmed",
    )
    assert booking.boat.external_id == "b-77"
    assert booking.local_start.hour == 10 and booking.guest_name == "Ana Ruiz"
    assert str(booking.owner_payout) == "855.00"
    assert booking.last_event_at == datetime(2026, 12, 1, 17, 2, 11, tzinfo=UTC)
    assert len(callbacks) == 1  # the fan-out enqueue waits for the commit
    assert TargetState.objects.filter(booking=booking).count() == len(get_targets())
    assert AuditEvent.objects.filter(
        action="bookings.booking.created", booking=booking, data__via="webhook"
    ).exists()


def test_the_raw_delivery_is_stored_with_its_outcome_and_without_credentials(client):
    event = load_event("booking_created__confirmed")
    post_signed(client, event, headers={"Authorization": "Bearer leaked", "X-Relay": "zapier"})
    delivery = WebhookDelivery.objects.get()
    assert json.loads(delivery.body) == event
    assert delivery.headers["X-Relay"] == "zapier"
    assert "X-Charterops-Signature" in delivery.headers  # kept: a replay re-verifies it
    assert not any(k.lower() == "authorization" for k in delivery.headers)
    assert delivery.remote_addr == "127.0.0.1"
    assert (delivery.outcome, delivery.http_status, delivery.event_id) == (
        "accepted",
        202,
        "evt_8f3a2c9d41b7",
    )
    assert delivery.event_type == "booking.created" and delivery.booking is not None


def test_the_same_event_twice_is_a_duplicate_with_no_second_effect(client):
    event = load_event("booking_created__confirmed")
    assert post_signed(client, event).status_code == 202
    versions = list(Booking.objects.values_list("version", flat=True))
    audit_rows = AuditEvent.objects.count()
    second = post_signed(client, event)
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert list(Booking.objects.values_list("version", flat=True)) == versions
    assert AuditEvent.objects.count() == audit_rows
    assert WebhookDelivery.objects.filter(holds_event_key=True).count() == 1
    assert list(WebhookDelivery.objects.order_by("id").values_list("outcome", flat=True)) == [
        "accepted",
        "duplicate",
    ]


def test_an_update_moves_the_booking_and_bumps_its_version(client):
    post_signed(client, load_event("booking_created__confirmed"))
    response = post_signed(client, load_event("booking_updated__new_time"))
    assert response.status_code == 202
    booking = Booking.objects.get()
    assert (booking.version, booking.local_start.hour, booking.party_size) == (2, 12, 8)
    assert AuditEvent.objects.filter(action="bookings.booking.updated", booking=booking).exists()


def test_an_update_that_arrives_first_creates_the_booking(client):
    assert post_signed(client, load_event("booking_updated__new_time")).status_code == 202
    assert Booking.objects.get().local_start.hour == 12


def test_out_of_order_an_older_created_after_the_update_is_stale(client):
    post_signed(client, load_event("booking_updated__new_time"))
    response = post_signed(client, load_event("booking_created__confirmed"))
    assert response.status_code == 202  # stored; the worker then finds it stale
    assert WebhookDelivery.objects.get(pk=response.json()["delivery"]).outcome == "stale"
    booking = Booking.objects.get()
    assert (booking.local_start.hour, booking.version) == (12, 1)
    assert WebhookDelivery.objects.filter(outcome="stale", booking=booking).exists()


def test_a_late_update_never_overwrites_a_cancellation(client):
    post_signed(client, load_event("booking_created__confirmed"))
    assert post_signed(client, load_event("booking_cancelled__by_guest")).status_code == 202
    late = post_signed(client, load_event("booking_updated__new_time"))
    assert WebhookDelivery.objects.get(pk=late.json()["delivery"]).outcome == "stale"
    booking = Booking.objects.get()
    assert booking.status == "cancelled"
    assert AuditEvent.objects.filter(action="bookings.booking.cancelled", booking=booking).exists()


def test_a_cancellation_that_arrives_first_is_kept(client):
    post_signed(client, load_event("booking_cancelled__by_guest"))
    late = post_signed(client, load_event("booking_created__confirmed"))
    assert WebhookDelivery.objects.get(pk=late.json()["delivery"]).outcome == "stale"
    booking = Booking.objects.get()
    assert booking.status == "cancelled"
    assert not TargetState.objects.filter(booking=booking).exists()  # nothing was published


def test_an_unknown_event_type_is_ignored_but_stored(client):
    response = post_signed(client, load_event("payout_sent__unknown_type"))
    assert (response.status_code, response.json()["status"]) == (200, "ignored")
    assert WebhookDelivery.objects.get().outcome == "ignored"
    assert not Booking.objects.exists()


def test_a_body_that_is_not_json_is_400(client):
    response = post_signed(client, b'{"id": "evt_1", "type": ')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    assert WebhookDelivery.objects.get().outcome == "invalid"


@pytest.mark.parametrize("body", [b"[1, 2]", b'"booking"', b"null"])
def test_json_that_is_not_an_object_is_400(client, body):
    assert post_signed(client, body).status_code == 400


def test_wrong_types_are_422_listing_each_field(client):
    response = post_signed(client, load_event("booking_created__wrong_types"))
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert set(fields) >= {
        "booking.party_size",
        "booking.captain_required",
        "booking.start",
        "booking.pricing.boat_price",
    }
    assert not Booking.objects.exists()
    assert "booking.party_size" in WebhookDelivery.objects.get().error


def test_missing_fields_are_422_listing_each_field(client):
    response = post_signed(client, load_event("booking_created__missing_fields"))
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert fields["booking.guest.name"] == ["Field required"]
    assert {"booking.end", "booking.status"} <= set(fields)


def test_a_missing_envelope_field_is_422(client):
    event = load_event("booking_created__confirmed")
    del event["occurred_at"]
    response = post_signed(client, event)
    assert response.status_code == 422
    assert "occurred_at" in response.json()["fields"]


def test_naive_times_are_refused_because_the_offset_matters(client):
    event = load_event("booking_created__confirmed")
    event["booking"]["start"] = "2026-12-05T10:00:00"
    response = post_signed(client, event)
    assert response.status_code == 422
    assert "booking.start" in response.json()["fields"]


def test_end_before_start_is_422(client):
    response = post_signed(client, load_event("booking_created__end_before_start"))
    assert response.status_code == 422
    assert "must end after it starts" in json.dumps(response.json())


def test_an_unknown_boat_is_422_naming_it(client):
    response = post_signed(client, load_event("booking_created__unknown_boat"))
    assert response.status_code == 422
    message = response.json()["fields"]["booking.boat"][0]
    assert "b-404" in message and "Flying Dutchman" in message
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.holds_event_key) == ("invalid", None)  # replayable


def test_the_boat_is_matched_by_name_when_no_id_is_given(client, queen):
    assert post_signed(client, load_event("booking_created__boat_by_name_only")).status_code == 202
    assert Booking.objects.get().boat == queen


def test_a_party_larger_than_the_boat_is_422_on_party_size(client):
    response = post_signed(client, load_event("booking_created__party_over_capacity"))
    assert response.status_code == 422
    assert "carries at most 12 guests" in response.json()["fields"]["booking.party_size"][0]


def test_unicode_and_html_in_names_are_kept_verbatim_and_escaped_in_the_admin(client, admin_client):
    event = load_event("booking_created__unicode_html_names")
    assert post_signed(client, event).status_code == 202
    booking = Booking.objects.get()
    assert booking.guest_name == event["booking"]["guest"]["name"]
    page = admin_client.get(f"/admin/bookings/booking/{booking.pk}/change/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


def test_a_huge_body_is_413_and_recorded_without_its_body(client):
    event = load_event("booking_created__confirmed")
    event["booking"]["special_requests"] = "x" * (256 * 1024)
    response = post_signed(client, event)
    assert response.status_code == 413
    delivery = WebhookDelivery.objects.get()
    assert (delivery.http_status, delivery.body) == (413, "")
    assert not Booking.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get(WEBHOOK_URL).status_code == 405


def test_the_request_costs_one_insert_and_the_worker_a_bounded_number_of_queries(
    client, monkeypatch
):
    from bookings.intake import webhook as deliveries
    from bookings.intake.boats import boat_index

    assert boat_index.find("b-77") is not None  # a warm process has loaded the fleet
    woken = []
    monkeypatch.setattr(deliveries, "webhook_deliveries_wake", lambda: woken.append(1))
    with CaptureQueriesContext(connection) as request_queries:
        response = post_signed(client, load_event("booking_created__confirmed"))
    assert response.status_code == 202 and woken == [1]
    statements = [q["sql"] for q in request_queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1 and statements[0].startswith("INSERT")
    assert WebhookDelivery.objects.get().outcome == "queued"
    with CaptureQueriesContext(connection) as worker_queries:
        assert deliveries.webhook_deliveries_drain() == (1, False)
    # claim, lock, create with its checks, audit, 4 target rows, outcome, look for the next;
    # the rest are savepoints of the test transaction and of full_clean's constraint checks.
    assert len(worker_queries.captured_queries) <= 30
    assert WebhookDelivery.objects.get().outcome == "accepted"


def test_the_payload_statuses_are_exactly_the_booking_statuses():
    from typing import get_args

    from bookings.intake import BookingIn

    assert set(get_args(BookingIn.model_fields["status"].annotation)) == set(Booking.Status.values)


def test_a_check_that_crashes_still_stores_the_delivery_and_answers_500(client, monkeypatch):
    from bookings import intake

    real = intake.booking_payload_precheck

    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(intake, "booking_payload_precheck", boom)
    response = post_signed(client, load_event("booking_created__confirmed"))
    assert response.status_code == 500
    assert response.json()["error"] == "internal error: RuntimeError"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.http_status, delivery.holds_event_key) == (
        "error",
        500,
        None,
    )
    assert json.loads(delivery.body)["id"] == "evt_8f3a2c9d41b7"  # nothing lost
    monkeypatch.setattr(intake, "booking_payload_precheck", real)
    assert post_signed(client, load_event("booking_created__confirmed")).status_code == 202
