"""The booking page shows its histories as read-only tables, and still edits what it edited."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from charterops.models import TargetState
from crew.admin_ops import NOTIFICATIONS_SHOWN
from tests.crew.test_notifications_admin import change_form_data
from tests.factories import (
    BookingFactory,
    ChecklistItemFactory,
    CrewAssignmentFactory,
    CrewMemberFactory,
    NotificationFactory,
)

pytestmark = pytest.mark.django_db


def _page(client, booking, **params):
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    response = client.get(url, params)
    assert response.status_code == 200
    return response, response.content.decode()


def _section(html: str, key: str) -> str:
    found = re.search(rf'<section[^>]*id="{key}-history".*?</section>', html, re.S)
    assert found, f"no {key} section"
    return found[0]


def test_histories_are_tables_not_formsets(superuser_client):
    booking = BookingFactory()
    member = CrewMemberFactory(name="Cora Captain")
    CrewAssignmentFactory(booking=booking, member=member)
    ChecklistItemFactory(booking=booking, text="Fuel check", done_by=member, done_at=timezone.now())
    ChecklistItemFactory(booking=booking, text="Life jackets")
    NotificationFactory(booking=booking, member=member, provider_message_id="ses-0042")
    TargetState.objects.create(booking=booking, target="calendar", status="failed",
                               last_error="share the calendar")  # fmt: skip

    response, html = _page(superuser_client, booking)

    prefixes = {inline.formset.prefix for inline in response.context["inline_admin_formsets"]}
    assert "assignments" in prefixes  # crew stay editable in place
    assert not prefixes & {"checklist_items", "notifications", "target_states"}
    assert 'name="checklist_items-' not in html and 'name="notifications-' not in html
    checklist = _section(html, "checklist")
    assert "Checklist (1 of 2 done)" in checklist
    assert "<td>Fuel check</td>" in checklist and "<td>Cora Captain</td>" in checklist
    assert "?edit=checklist#checklist_items-group" in checklist
    fanout = _section(html, "fanout")
    assert "share the calendar" in fanout and 'class="co-pill co-failed"' in fanout
    assert f"/admin/charterops/targetstate/?booking__id__exact={booking.pk}" in fanout
    assert f"/admin/charterops/auditevent/?booking__id__exact={booking.pk}" in fanout
    notes = _section(html, "notifications")
    assert "ses-0042" in notes and '<th scope="col">provider id</th>' in notes
    note = booking.notifications.get()
    assert reverse("admin:crew_notification_change", args=[note.pk]) in notes


def test_the_notifications_table_shows_the_newest_and_links_to_the_rest(superuser_client):
    booking = BookingFactory()
    member = CrewMemberFactory()
    for version in range(1, NOTIFICATIONS_SHOWN + 3):
        NotificationFactory(booking=booking, member=member, booking_version=version,
                            provider_message_id=f"ses-v{version}")  # fmt: skip

    _, html = _page(superuser_client, booking)

    notes = _section(html, "notifications")
    assert f"Crew notifications (latest {NOTIFICATIONS_SHOWN})" in notes
    assert notes.count("<tr>") == NOTIFICATIONS_SHOWN + 1  # the header row and ten rows
    assert "ses-v12" in notes and "ses-v3<" in notes and "ses-v2<" not in notes
    link = f"/admin/crew/notification/?booking__id__exact={booking.pk}"
    assert f'href="{link}">All notifications</a>' in notes
    listed = superuser_client.get(link).context["cl"]
    assert listed.result_count == NOTIFICATIONS_SHOWN + 2


def test_the_filtered_lists_linked_from_the_page_open(superuser_client):
    booking = BookingFactory()
    TargetState.objects.create(booking=booking, target="crew", status="done")
    TargetState.objects.create(booking=BookingFactory(), target="crew", status="done")
    _, html = _page(superuser_client, booking)
    for url in re.findall(r'href="(/admin/[a-z]+/[a-z]+/\?booking__id__exact=\d+)"', html):
        response = superuser_client.get(url)
        assert response.status_code == 200, url
        assert "?e=1" not in response.get("Location", "")
    fanout = superuser_client.get(
        f"/admin/charterops/targetstate/?booking__id__exact={booking.pk}"
    ).context["cl"]
    assert fanout.result_count == 1


def test_the_checklist_is_edited_with_edit_checklist(superuser_client):
    booking = BookingFactory()
    item = ChecklistItemFactory(booking=booking, text="Fuel check")
    url = reverse("admin:bookings_booking_change", args=[booking.pk])

    response, html = _page(superuser_client, booking, edit="checklist")
    prefixes = {inline.formset.prefix for inline in response.context["inline_admin_formsets"]}
    assert "checklist_items" in prefixes
    assert 'id="checklist-history"' not in html  # the formset replaces the table
    data = change_form_data(response)
    (key,) = [k for k, v in data.items() if k.startswith("checklist_items-") and v == "Fuel check"]
    data[key] = "Fuel check (both tanks)"

    saved = superuser_client.post(f"{url}?edit=checklist", data)

    assert saved.status_code == 302, saved.context and saved.context["errors"]
    item.refresh_from_db()
    assert item.text == "Fuel check (both tanks)"


def test_saving_the_page_without_the_checklist_keeps_it(superuser_client):
    booking = BookingFactory()
    item = ChecklistItemFactory(booking=booking, text="Fuel check")
    CrewAssignmentFactory(booking=booking)
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    data = change_form_data(superuser_client.get(url))
    data["meeting_point"] = "Dock C, slip 12"

    saved = superuser_client.post(url, data)

    assert saved.status_code == 302, saved.context and saved.context["errors"]
    booking.refresh_from_db()
    item.refresh_from_db()
    assert booking.meeting_point == "Dock C, slip 12" and item.text == "Fuel check"
    assert booking.assignments.count() == 1


def test_a_viewer_gets_no_edit_link(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_booking"))
    client.force_login(viewer)
    booking = BookingFactory()
    ChecklistItemFactory(booking=booking)

    _, html = _page(client, booking)

    assert "edit=checklist" not in html
    assert "/admin/charterops/targetstate/?" not in html  # no view permission there


def test_the_page_takes_the_whole_width_like_the_list(superuser_client):
    _, html = _page(superuser_client, BookingFactory())
    assert 'id="nav-sidebar"' not in html
