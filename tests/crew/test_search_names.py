"""Searching the booking list for a crew member's name: the names live in the search document."""

from decimal import Decimal
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.models import Booking
from bookings.search import SEARCH_SEPARATOR, booking_search
from bookings.services import booking_update
from crew.assignments import CrewLine, crew_assignments_apply
from crew.models import CrewAssignment
from tests.factories import BoatFactory, BookingFactory, CrewAssignmentFactory, CrewMemberFactory

pytestmark = pytest.mark.django_db
BOOKINGS = reverse("admin:bookings_booking_changelist")


def _found(client, q: str) -> tuple[set[int], int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(BOOKINGS, {"q": q})
    assert response.status_code == 200
    return {b.pk for b in response.context["cl"].result_list}, len(queries)


def _names(booking) -> list[str]:
    text = Booking.objects.get(pk=booking.pk).crew_names
    return text.split(SEARCH_SEPARATOR) if text else []


def test_the_booking_list_finds_a_charter_by_its_crew_members_name(superuser_client):
    boat = BoatFactory()
    hale = BookingFactory(boat=boat, guest_name="Ana Ruiz", meeting_point="Kona Kai")
    other = BookingFactory(boat=boat, guest_name="Ben Okafor", meeting_point="Shelter Island")
    CrewAssignmentFactory(booking=hale, member=CrewMemberFactory(name="Tom Hale"))
    CrewAssignmentFactory(booking=other, member=CrewMemberFactory(name="Marisol Quintero"))

    assert _found(superuser_client, "hale")[0] == {hale.pk}
    assert _found(superuser_client, "tom hale")[0] == {hale.pk}
    assert _found(superuser_client, '"Marisol Quintero"')[0] == {other.pk}
    assert _found(superuser_client, "shelter quintero")[0] == {other.pk}
    assert _found(superuser_client, "ruiz quintero")[0] == set()


def test_two_crew_names_do_not_run_into_one_another():
    booking = BookingFactory()
    CrewAssignmentFactory(booking=booking, member=CrewMemberFactory(name="Ana Ruiz"))
    CrewAssignmentFactory(booking=booking, member=CrewMemberFactory(name="Tom Hale"))
    assert _names(booking) == ["Ana Ruiz", "Tom Hale"]
    assert not booking_search(Booking.objects.all(), '"Ruiz Tom"').exists()
    assert not booking_search(Booking.objects.all(), '"Hale Ana"').exists()


def test_renaming_a_member_updates_their_charters_documents(superuser_client):
    member = CrewMemberFactory(name="Tom Hale")
    charters = [CrewAssignmentFactory(member=member).booking for _ in range(3)]
    CrewAssignmentFactory(booking=charters[0], member=CrewMemberFactory(name="Ana Ruiz"))

    member.name = "Tomas Halvorsen"
    member.save()

    assert _found(superuser_client, "halvorsen")[0] == {b.pk for b in charters}
    assert _found(superuser_client, "hale")[0] == set()
    assert _names(charters[0]) == ["Ana Ruiz", "Tomas Halvorsen"]


def test_renaming_through_the_member_admin_page_updates_the_documents(superuser_client):
    member = CrewMemberFactory(name="Tom Hale", email="tom@example.com", phone="")
    booking = CrewAssignmentFactory(member=member).booking
    url = reverse("admin:crew_crewmember_change", args=[member.pk])
    response = superuser_client.post(
        url,
        {
            "name": "Tom Brennan",
            "email": "tom@example.com",
            "phone": "",
            "roles": ["deckhand"],
            "notify_by": "email",
            "active": "on",
            "notifications-TOTAL_FORMS": "0",
            "notifications-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _names(booking) == ["Tom Brennan"]


def test_a_save_of_a_member_that_keeps_the_name_costs_one_query(django_assert_num_queries):
    member = CrewMemberFactory(name="Tom Hale")
    CrewAssignmentFactory(member=member)
    member.email = "new@example.com"
    with django_assert_num_queries(2):  # the member's UPDATE, the check for stale documents
        member.save()


def test_saving_an_assignment_s_answer_does_not_touch_the_document(django_assert_num_queries):
    assignment = CrewAssignmentFactory(member=CrewMemberFactory(name="Tom Hale"))
    assignment.response = "accepted"
    with django_assert_num_queries(1):
        assignment.save(update_fields=["response"])


def test_removing_and_changing_crew_through_a_booking_change_keeps_the_document_true():
    """``booking_update`` saves the booking after its ``also`` changed the crew: the names
    written meanwhile survive that save (``bookings.fields.MaintainedTextField``)."""
    ana, tom = CrewMemberFactory(name="Ana Ruiz"), CrewMemberFactory(name="Tom Hale")
    booking = BookingFactory(guest_name="Guest One")

    def crew(*members):
        lines = [CrewLine(member=m, role="deckhand", pay=Decimal("100")) for m in members]
        return lambda locked: crew_assignments_apply(locked, lines)

    booking_update(booking, also=crew(ana, tom), guest_name="Guest Two")
    assert _names(booking) == ["Ana Ruiz", "Tom Hale"]
    assert booking.crew_names == f"Ana Ruiz{SEARCH_SEPARATOR}Tom Hale"  # read back on save

    booking_update(booking, also=crew(tom), guest_name="Guest Three")
    assert _names(booking) == ["Tom Hale"]

    CrewAssignment.objects.get(booking=booking, member=tom).delete()
    assert _names(booking) == []


def test_a_stale_booking_instance_saved_keeps_the_crew_names():
    booking = BookingFactory()
    stale = Booking.objects.get(pk=booking.pk)
    CrewAssignmentFactory(booking=booking, member=CrewMemberFactory(name="Ana Ruiz"))
    stale.guest_name = "Changed"
    stale.save()
    assert stale.crew_names == "Ana Ruiz"
    assert _names(booking) == ["Ana Ruiz"]


def test_the_data_migration_fills_the_documents_of_existing_bookings():
    booking = BookingFactory()
    CrewAssignmentFactory(booking=booking, member=CrewMemberFactory(name="Tom Hale"))
    CrewAssignmentFactory(booking=booking, member=CrewMemberFactory(name="Ana Ruiz"))
    alone = BookingFactory()
    Booking.objects.update(crew_names="")

    fill = import_module("crew.migrations.0011_booking_crew_names_fill").fill
    fill(apps, SimpleNamespace(connection=connection))

    assert sorted(_names(booking)) == ["Ana Ruiz", "Tom Hale"]
    assert _names(alone) == []


def test_a_crew_search_costs_the_same_queries_at_3_and_at_30_bookings(superuser_client):
    boat = BoatFactory()
    member = CrewMemberFactory(name="Cora Okafor")

    def charters(n):
        for _ in range(n):
            CrewAssignmentFactory(member=member, booking=BookingFactory(boat=boat))
            CrewAssignmentFactory(booking=BookingFactory(boat=boat))

    charters(3)
    found, small = _found(superuser_client, "okafor")
    assert len(found) == 3
    charters(27)
    found, large = _found(superuser_client, "okafor")
    assert len(found) == 30
    assert small == large


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram index: PostgreSQL only")
def test_a_crew_name_search_can_read_the_search_document_index():
    member = CrewMemberFactory(name="Cora Okafor")
    booking = CrewAssignmentFactory(member=member).booking
    BookingFactory()
    queryset = booking_search(Booking.objects.all(), "okafor")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "booking_search_document_trgm" in plan, plan
    assert "crew_crewassignment" not in plan  # no subplan over the assignments
    assert list(queryset) == [booking]
