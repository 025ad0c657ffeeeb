"""The inbound email admin: the attention list, a proposal beside its booking, Apply/Dismiss
as buttons and actions (with permissions), and an unparsed message made into a booking."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.intake.mail.models import InboundEmail
from bookings.intake.mail.sources import inbound_email_receive
from bookings.models import Booking
from tests.bookings.email_support import eml
from tests.bookings.test_admin import _form_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Status = InboundEmail.Status
LIST = "admin:bookings_inboundemail_changelist"


def receive(name: str) -> InboundEmail:
    return inbound_email_receive(eml(name), via="import", label=name).email


@pytest.fixture
def ops_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_the_list_costs_the_same_queries_for_5_or_25_messages(
    queen, ops_client, django_assert_max_num_queries
):
    made = iter(range(1000))

    def fill(n):
        for _ in range(n):
            number = next(made)
            raw = eml("boatsetter__confirmed__both_parts").replace(
                b"Renter: Ana Ruiz", f"Renter: Guest {number}".encode()
            )
            inbound_email_receive(raw, via="import", label=str(number))

    fill(5)
    with django_assert_max_num_queries(12) as five:
        assert ops_client.get(reverse(LIST), {"attention": "yes"}).status_code == 200
    fill(20)
    with django_assert_max_num_queries(12) as twenty_five:
        response = ops_client.get(reverse(LIST), {"attention": "yes"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 25
    assert len(twenty_five.captured_queries) == len(five.captured_queries)


def test_a_proposal_shows_the_field_by_field_diff_and_the_buttons(queen, ops_client, staff_user):
    email = receive("boatsetter__confirmed__both_parts")
    page = ops_client.get(reverse("admin:bookings_inboundemail_change", args=[email.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "creates a new booking" in html
    assert "Ana Ruiz" in html and "Sat Jan 16 2027, 10:00" in html
    assert reverse("admin:bookings_inboundemail_apply", args=[email.pk]) in html
    assert reverse("admin:bookings_inboundemail_dismiss", args=[email.pk]) in html
    assert 'name="_save"' not in html


def test_apply_button_creates_the_booking_then_the_change_shows_against_it(queen, ops_client):
    email = receive("boatsetter__confirmed__both_parts")
    response = ops_client.post(reverse("admin:bookings_inboundemail_apply", args=[email.pk]))

    assert response.status_code == 302
    booking = Booking.objects.get(external_id="BS-4839215")
    email.refresh_from_db()
    assert email.status == Status.APPLIED and email.booking == booking

    changed = receive("boatsetter__changed__new_time")
    html = ops_client.get(
        reverse("admin:bookings_inboundemail_change", args=[changed.pk])
    ).content.decode()
    assert "changes booking BS-4839215" in html
    assert "Sat Jan 16 2027, 13:00" in html and "Sat Jan 16 2027, 10:00" in html


def test_apply_is_post_only_and_needs_the_permissions(queen, client):
    email = receive("boatsetter__confirmed__both_parts")
    url = reverse("admin:bookings_inboundemail_apply", args=[email.pk])
    viewer = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_inboundemail"))
    client.force_login(viewer)

    assert (
        client.get(reverse("admin:bookings_inboundemail_change", args=[email.pk])).status_code
        == 200
    )
    assert client.post(url).status_code == 403
    assert not Booking.objects.exists()


def test_apply_get_is_refused(queen, ops_client):
    email = receive("boatsetter__confirmed__both_parts")
    assert (
        ops_client.get(reverse("admin:bookings_inboundemail_apply", args=[email.pk])).status_code
        == 405
    )


def test_dismiss_button(queen, ops_client):
    email = receive("boatsetter__confirmed__both_parts")
    ops_client.post(reverse("admin:bookings_inboundemail_dismiss", args=[email.pk]))

    email.refresh_from_db()
    assert email.status == Status.DISMISSED


def test_the_apply_action_applies_oldest_first(queen, ops_client):
    newer = receive("boatsetter__changed__new_time")
    older = receive("boatsetter__confirmed__both_parts")
    response = ops_client.post(
        reverse(LIST),
        {"action": "apply_proposals", ACTION_CHECKBOX_NAME: [newer.pk, older.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert Booking.objects.get().local_start.hour == 13
    assert set(InboundEmail.objects.values_list("status", flat=True)) == {Status.APPLIED}


def test_the_dismiss_action(queen, ops_client):
    email = receive("boatsetter__unknown__new_layout")
    ops_client.post(reverse(LIST), {"action": "dismiss_messages", ACTION_CHECKBOX_NAME: [email.pk]})

    email.refresh_from_db()
    assert email.status == Status.DISMISSED


def test_an_unparsed_message_opens_a_prefilled_add_form_and_links_the_booking(queen, ops_client):
    email = receive("boatsetter__confirmed__truncated_mime")
    assert email.status == Status.UNPARSED
    page = ops_client.get(reverse("admin:bookings_inboundemail_change", args=[email.pk]))
    add_url = reverse("admin:bookings_booking_add") + f"?from_email={email.pk}"
    assert add_url in page.content.decode()

    form = ops_client.get(add_url).context["adminform"].form
    assert form.initial["external_id"] == "BS-4839215"
    assert form.initial["source"] == "boatsetter"
    assert form.initial["guest_name"] == "Ana Ruiz"
    assert form.initial["party_size"] == 6
    assert form.initial["boat"] == queen.pk
    assert form.initial["start"].hour == 10 and form.initial["end"].hour == 14

    data = _form_data(ops_client, queen, source="boatsetter", external_id="BS-4839215")
    response = ops_client.post(add_url, data)
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.status == Status.LINKED
    assert email.booking == Booking.objects.get(external_id="BS-4839215")


def test_the_list_never_reads_the_raw_messages(queen, ops_client):
    receive("boatsetter__confirmed__both_parts")
    with CaptureQueriesContext(connection) as queries:
        ops_client.get(reverse(LIST))
    listing = [q["sql"] for q in queries.captured_queries if "bookings_inboundemail" in q["sql"]]
    assert listing and not any('"raw"' in sql for sql in listing)


def test_the_booking_page_lists_the_emails_it_came_from(queen, ops_client):
    email = receive("boatsetter__confirmed__both_parts")
    ops_client.post(reverse("admin:bookings_inboundemail_apply", args=[email.pk]))
    booking = Booking.objects.get()

    page = ops_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Booking confirmed: Ana Ruiz" in html
    assert reverse("admin:bookings_inboundemail_change", args=[email.pk]) in html


def test_a_booking_without_emails_has_no_email_section(booking, ops_client):
    page = ops_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    assert page.status_code == 200
    assert "Emails" not in page.content.decode()
