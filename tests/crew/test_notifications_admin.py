"""Staff side of crew notifications: what was sent, revoking links, double-booking warnings."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core import mail
from django.forms.widgets import SplitDateTimeWidget
from django.urls import reverse

from charterops.models import AuditEvent
from crew.magic_links import crew_magic_link
from crew.models import CrewAssignment, Notification
from crew.notifications import booking_crew_notify
from tests import factories

pytestmark = pytest.mark.django_db


def change_form_data(response) -> dict[str, str]:
    """What the browser would post back unchanged: the main form and every inline formset."""
    data: dict[str, str] = {}

    def add(form, prefix_name=None):
        for name, field in form.fields.items():
            key = form.add_prefix(name)
            if field.disabled:
                continue
            value = form[name].value()
            widget = field.widget
            if isinstance(widget, SplitDateTimeWidget):
                date, time = widget.decompress(value)
                data[f"{key}_0"], data[f"{key}_1"] = str(date or ""), str(time or "")
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif value is not None:
                data[key] = str(value.pk if hasattr(value, "pk") else value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = str(management[name].value())
        for form in formset.initial_forms:
            add(form)
        data[management.add_prefix("TOTAL_FORMS")] = str(len(formset.initial_forms))
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_member_page_lists_their_notifications(superuser_client, django_assert_max_num_queries):
    member = factories.CrewMemberFactory(name="Cora Captain")
    for _ in range(3):
        factories.NotificationFactory(member=member, provider_message_id="ses-0001")
    factories.NotificationFactory(member=member, status="bounced", error="bounced: Permanent")
    url = reverse("admin:crew_crewmember_change", args=[member.pk])

    with django_assert_max_num_queries(15):
        response = superuser_client.get(url)

    body = response.content.decode()
    assert response.status_code == 200
    assert "ses-0001" in body and "bounced: Permanent" in body
    assert body.count("New charter") >= 4


def test_the_booking_page_shows_each_notification_with_its_provider_id(superuser_client):
    note = factories.NotificationFactory(provider_message_id="ses-0002")
    response = superuser_client.get(
        reverse("admin:bookings_booking_change", args=[note.booking_id])
    )
    assert "ses-0002" in response.content.decode()


def test_revoking_a_members_links_from_the_member_list_sends_one_new_link(
    superuser_client, client, django_capture_on_commit_callbacks
):
    assignment = factories.CrewAssignmentFactory()
    parts = urlsplit(crew_magic_link(assignment))

    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(
            reverse("admin:crew_crewmember_changelist"),
            {"action": "revoke_links", ACTION_CHECKBOX_NAME: [assignment.member_id]},
            follow=True,
        )

    assert "Revoked 1 link(s) of 1 member(s); 1 new link message(s) are being sent." in messages_of(
        response
    )
    (note,) = Notification.objects.filter(kind="new_link")
    assert (note.status, note.round, note.member_id) == ("sent", 1, assignment.member_id)
    (message,) = mail.outbox
    assert message.subject.startswith("Your new link:") and "withdrew" in message.body
    new_link = urlsplit(re.search(r"(https?://\S+sesame=\S+)", message.body)[1])
    assert AuditEvent.objects.filter(action="crew.magic_links.revoked").count() == 1
    superuser_client.logout()
    refused = superuser_client.get(f"{parts.path}?{parts.query}")
    assert refused.status_code == 403 and b"withdrawn" in refused.content
    opened = superuser_client.get(f"{new_link.path}?{new_link.query}", follow=True)
    assert opened.status_code == 200  # the new link works


def test_revoking_a_charters_crew_links_from_the_booking_list_sends_new_ones(
    superuser_client, django_capture_on_commit_callbacks
):
    assignment = factories.CrewAssignmentFactory()
    factories.CrewAssignmentFactory(booking=assignment.booking)

    for expected_round in (1, 2):  # once per revocation
        with django_capture_on_commit_callbacks(execute=True):
            response = superuser_client.post(
                reverse("admin:bookings_booking_changelist"),
                {"action": "revoke_crew_links", ACTION_CHECKBOX_NAME: [assignment.booking_id]},
                follow=True,
            )
        assert (
            "Revoked the crew links of 2 assignment(s); 2 member(s) are sent a new link."
            in messages_of(response)
        )
        assert set(CrewAssignment.objects.values_list("link_generation", flat=True)) == {
            expected_round
        }
    rounds = Notification.objects.filter(kind="new_link").values_list("round", "status")
    assert sorted(rounds) == [(1, "sent"), (1, "sent"), (2, "sent"), (2, "sent")]
    assert len(mail.outbox) == 4


def test_saving_a_booking_whose_crew_is_double_booked_warns(superuser_client):
    booking = factories.BookingFactory(external_id="BS-1")
    member = factories.CrewMemberFactory(name="Cora Captain")
    factories.CrewAssignmentFactory(booking=booking, member=member)
    factories.CrewAssignmentFactory(
        member=member,
        booking__external_id="BS-2",
        booking__start=booking.start + timedelta(hours=2),
        booking__end=booking.end + timedelta(hours=2),
    )
    url = reverse("admin:bookings_booking_change", args=[booking.pk])

    response = superuser_client.post(url, change_form_data(superuser_client.get(url)), follow=True)

    assert response.status_code == 200
    warnings = [m for m in messages_of(response) if "overlaps" in m]
    assert len(warnings) == 1
    assert warnings[0].startswith("Cora Captain is also on BS-2 (")
    assert "which overlaps this charter" in warnings[0]


def test_no_warning_for_back_to_back_or_declined_charters(superuser_client):
    booking = factories.BookingFactory()
    member = factories.CrewMemberFactory()
    factories.CrewAssignmentFactory(booking=booking, member=member)
    factories.CrewAssignmentFactory(
        member=member, booking__start=booking.end, booking__end=booking.end + timedelta(hours=3)
    )
    factories.CrewAssignmentFactory(
        member=member,
        response="declined",
        booking__start=booking.start,
        booking__end=booking.end,
    )
    url = reverse("admin:bookings_booking_change", args=[booking.pk])

    response = superuser_client.post(url, change_form_data(superuser_client.get(url)), follow=True)

    assert not [m for m in messages_of(response) if "overlaps" in m]


def test_the_notification_page_shows_the_message_without_a_live_token(superuser_client):
    assignment = factories.CrewAssignmentFactory(booking__meeting_point="Dock C, slip 12")
    booking_crew_notify(assignment.booking)
    note = assignment.member.notifications.get()

    response = superuser_client.get(reverse("admin:crew_notification_change", args=[note.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "New charter:" in body and "Dock C, slip 12" in body
    assert "(personal link)" in body and "sesame=" not in body


def test_failed_notifications_can_be_sent_again_from_the_admin(superuser_client, mailoutbox):
    assignment = factories.CrewAssignmentFactory()
    member = assignment.member
    member.email_flagged, member.phone = "bounced: Permanent", ""
    member.save()
    booking_crew_notify(assignment.booking)
    note = member.notifications.get()
    assert note.status == "failed" and mailoutbox == []
    old_booking = factories.NotificationFactory(status="failed", booking_version=0)
    member.email_flagged = ""
    member.save()

    response = superuser_client.post(
        reverse("admin:crew_notification_changelist"),
        {"action": "retry_failed", ACTION_CHECKBOX_NAME: [note.pk, old_booking.pk]},
        follow=True,
    )

    assert "Retried: 1 sent, 1 stale." in messages_of(response)
    note.refresh_from_db()
    assert note.status == "sent" and [m.to for m in mailoutbox] == [[member.email]]
    assert AuditEvent.objects.filter(action="crew.notification.retried").count() == 1
