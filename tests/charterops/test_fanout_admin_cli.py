"""Staff see and steer the fan-out: badges, actions with audit rows, the attention list, the CLI."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from bookings.services import booking_create
from charterops.fanout.targets import PermanentError, SyncResult
from charterops.models import AuditEvent, TargetState
from tests.factories import booking_fields

pytestmark = pytest.mark.django_db


class Flaky:
    broken: set[str] = set()

    def sync(self, booking, *, state):
        if self.name in Flaky.broken:
            raise PermanentError("HTTP 403: calendar not shared with the service account")
        return SyncResult(external_ref=f"{self.name}:{booking.pk}")


@pytest.fixture
def flaky(settings):
    Flaky.broken = {"calendar"}
    settings.CHARTEROPS_FANOUT_TARGETS = dict.fromkeys(
        ["calendar", "crew", "checklist", "guest_page"], Flaky
    )
    return Flaky


@pytest.fixture
def synced_booking(flaky, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return booking_create(**booking_fields())


def _action(client, action, booking, **extra):
    return client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": action, "_selected_action": [booking.pk], **extra},
        follow=True,
    )


def test_booking_list_shows_a_badge_per_target_with_the_reason(superuser_client, synced_booking):
    html = superuser_client.get(reverse("admin:bookings_booking_changelist")).content.decode()
    assert html.count("co-pill co-done") == 3
    assert "co-pill co-failed" in html
    assert "calendar not shared with the service account" in html  # the badge's title
    assert '<span class="co-sr">Calendar: Failed.</span>' in html  # for screen readers


def test_booking_page_shows_rows_with_errors_and_attempts(superuser_client, synced_booking):
    html = superuser_client.get(
        reverse("admin:bookings_booking_change", args=[synced_booking.pk])
    ).content.decode()
    assert "Fan-out targets" in html or "fan-out targets" in html
    assert "calendar not shared" in html


def test_retry_failed_targets_turns_the_red_badge_green(
    superuser_client, synced_booking, flaky, django_capture_on_commit_callbacks
):
    flaky.broken.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(superuser_client, "retry_failed", synced_booking)
    assert "Re-queued 1 failed target" in response.content.decode()
    assert set(synced_booking.target_states.values_list("status", flat=True)) == {"done"}
    assert AuditEvent.objects.filter(
        action="charterops.fanout.retried", actor__username="boss"
    ).exists()


def test_sync_now_re_runs_every_target(
    superuser_client, synced_booking, flaky, django_capture_on_commit_callbacks
):
    flaky.broken.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _action(superuser_client, "sync_now", synced_booking)
    rows = synced_booking.target_states.all()
    assert {r.status for r in rows} == {"done"}
    assert AuditEvent.objects.filter(action="charterops.fanout.sync_now").exists()


def test_cancel_asks_for_confirmation_then_unwinds(
    superuser_client, synced_booking, django_capture_on_commit_callbacks
):
    response = _action(superuser_client, "cancel_bookings", synced_booking)
    assert "Cancel bookings?" in response.content.decode()
    synced_booking.refresh_from_db()
    assert synced_booking.status == "confirmed"
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(superuser_client, "cancel_bookings", synced_booking, confirmed="yes")
    assert "Cancelled 1 booking" in response.content.decode()
    synced_booking.refresh_from_db()
    assert synced_booking.status == "cancelled"
    assert synced_booking.target_states.filter(desired_version=synced_booking.version).count() == 4
    assert AuditEvent.objects.filter(
        action="bookings.booking.cancelled", actor__username="boss"
    ).exists()


def test_attention_list_shows_failed_targets_across_bookings(superuser_client, synced_booking):
    url = reverse("admin:charterops_targetstate_changelist")
    rows = superuser_client.get(url, {"attention": "all"}).context["cl"].result_list
    assert [(r.booking_id, r.target) for r in rows] == [(synced_booking.pk, "calendar")]


def test_attention_list_retry_action(
    superuser_client, synced_booking, flaky, django_capture_on_commit_callbacks
):
    flaky.broken.clear()
    row = synced_booking.target_states.get(target="calendar")
    with django_capture_on_commit_callbacks(execute=True):
        superuser_client.post(
            reverse("admin:charterops_targetstate_changelist"),
            {"action": "retry_rows", "_selected_action": [row.pk]},
        )
    row.refresh_from_db()
    assert row.status == "done"


def test_fanout_status_json_agrees_with_the_rows(synced_booking, capsys):
    call_command("fanout_status", f"boatsetter:{synced_booking.external_id}", "--json")
    report = json.loads(capsys.readouterr().out)
    by_target = {t["target"]: t for t in report["targets"]}
    assert by_target["calendar"]["status"] == "failed"
    assert "calendar not shared" in by_target["calendar"]["last_error"]
    assert by_target["crew"]["external_ref"] == f"crew:{synced_booking.pk}"
    assert by_target["crew"]["synced_version"] == synced_booking.version
    for row in TargetState.objects.filter(booking=synced_booking):
        assert by_target[row.target]["attempts"] == row.attempts


def test_fanout_status_text_and_unknown_booking(synced_booking, capsys):
    call_command("fanout_status", str(synced_booking.pk))
    assert "calendar" in capsys.readouterr().out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No booking"):
        call_command("fanout_status", "boatsetter:nope")


def test_fanout_run_converges_without_a_worker(synced_booking, flaky, capsys):
    flaky.broken.clear()
    TargetState.objects.filter(booking=synced_booking).update(status="retrying")
    call_command("fanout_run", str(synced_booking.pk))
    assert set(synced_booking.target_states.values_list("status", flat=True)) == {"done"}
    assert "done" in capsys.readouterr().out


def test_fanout_sweep_command_reports_what_it_enqueued(capsys):
    call_command("fanout_sweep")
    assert "Re-enqueued 0 row(s)." in capsys.readouterr().out
