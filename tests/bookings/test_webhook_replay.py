"""Replaying stored deliveries (admin action and command): fixes what was refused, never twice."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from bookings.models import Booking, WebhookDelivery
from charterops.models import AuditEvent
from tests.factories import BoatFactory

from .intake_support import OLD_SECRET, SECRET, load_event, post_signed, webhook_secrets_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def refused_for_a_missing_secret(client, queen, settings):
    """A delivery that arrived before the operator had configured the source's secret."""
    webhook_secrets_set(settings, "boatsetter")
    assert post_signed(client, load_event("booking_created__confirmed")).status_code == 401
    return WebhookDelivery.objects.get()


def test_the_command_replays_failed_deliveries_once_the_secret_is_set(
    refused_for_a_missing_secret, settings
):
    webhook_secrets_set(settings, "boatsetter", SECRET)
    out = StringIO()
    call_command("webhook_replay", "--failed", stdout=out)
    assert "202 accepted" in out.getvalue()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.http_status) == ("accepted", 202)
    assert Booking.objects.get().external_id == "BS-4821937"
    # Replaying again (by id) finds the event already applied.
    out = StringIO()
    call_command("webhook_replay", "--ids", str(delivery.pk), stdout=out)
    assert "200 duplicate" in out.getvalue()
    assert Booking.objects.get().version == 1


def test_a_replay_checks_the_signature_against_when_it_was_received(
    refused_for_a_missing_secret, settings, time_machine
):
    from datetime import timedelta

    time_machine.move_to(refused_for_a_missing_secret.received_at + timedelta(days=2))
    webhook_secrets_set(settings, "boatsetter", SECRET)
    call_command("webhook_replay", "--failed", stdout=StringIO())
    assert Booking.objects.count() == 1  # two days later, the signed timestamp still verifies


def test_a_replay_with_the_wrong_secret_still_fails(refused_for_a_missing_secret, settings):
    webhook_secrets_set(settings, "boatsetter", OLD_SECRET)
    call_command("webhook_replay", "--failed", stdout=StringIO())
    assert WebhookDelivery.objects.get().outcome == "bad_signature"
    assert not Booking.objects.exists()


def test_a_delivery_for_an_unknown_boat_applies_once_the_boat_exists(
    client, webhook_secrets, queen
):
    post_signed(client, load_event("booking_created__unknown_boat"))
    BoatFactory(name="Flying Dutchman", external_id="b-404")
    call_command("webhook_replay", "--failed", stdout=StringIO())
    assert Booking.objects.get().boat.external_id == "b-404"


def test_unknown_ids_are_an_error():
    with pytest.raises(CommandError, match="no delivery with id 424242"):
        call_command("webhook_replay", "--ids", "424242", stdout=StringIO())


def test_the_admin_replay_action_reprocesses_the_selected_deliveries(
    admin_client, refused_for_a_missing_secret, settings
):
    webhook_secrets_set(settings, "boatsetter", SECRET)
    response = admin_client.post(
        reverse("admin:bookings_webhookdelivery_changelist"),
        {"action": "replay_deliveries", "_selected_action": [refused_for_a_missing_secret.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 accepted" in response.content.decode()
    assert Booking.objects.count() == 1
    assert AuditEvent.objects.filter(
        action="bookings.webhook_delivery.replayed", actor__username="admin"
    ).exists()


def test_the_delivery_admin_is_read_only_and_shows_the_outcome(
    admin_client, refused_for_a_missing_secret
):
    url = reverse("admin:bookings_webhookdelivery_change", args=[refused_for_a_missing_secret.pk])
    page = admin_client.get(url).content.decode()
    assert "no webhook secret is configured" in page
    assert 'name="_save"' not in page
    changelist = admin_client.get(reverse("admin:bookings_webhookdelivery_changelist"))
    assert "Bad signature" in changelist.content.decode()


def test_staff_without_booking_change_rights_cannot_replay(
    client, refused_for_a_missing_secret, django_user_model
):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    client.force_login(viewer)
    page = client.get(reverse("admin:bookings_webhookdelivery_changelist")).content.decode()
    assert "replay_deliveries" not in page
