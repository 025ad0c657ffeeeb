"""A search or filter with thousands of matches is counted to a cap and shown as "1,000+"."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.sites import site
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.models import Booking
from charterops import admin_lists
from charterops.admin_lists import CappedCount, EstimatedCountPaginator
from charterops.models import TargetState
from tests.factories import BoatFactory, BookingFactory, CrewAssignmentFactory, CrewMemberFactory

pytestmark = pytest.mark.django_db
BOOKINGS = reverse("admin:bookings_booking_changelist")


@pytest.fixture
def small_cap(monkeypatch):
    """A cap of 3 rows and pages of 2, so a handful of bookings crosses it."""
    monkeypatch.setattr(admin_lists, "COUNT_CAP", 3)
    monkeypatch.setattr(admin_lists, "COUNT_PAGES_AHEAD", 0)
    monkeypatch.setattr(site.get_model_admin(Booking), "list_per_page", 2)


def _list(client, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(BOOKINGS, params)
    assert response.status_code == 200
    return response, [q["sql"] for q in queries.captured_queries]


def test_a_capped_count_is_an_int_that_reads_with_a_plus():
    count = CappedCount(1000)
    assert count == 1001 and count > 1000 and isinstance(count, int)
    assert str(count) == "1,000+" and f"{count}" == "1,000+"


def test_a_search_past_the_cap_counts_cap_plus_one_rows_and_says_so(superuser_client, small_cap):
    boat = BoatFactory()
    for n in range(6):
        BookingFactory(boat=boat, guest_name=f"Ana Ruiz {n}")
    BookingFactory(boat=boat, guest_name="Someone Else")

    response, queries = _list(superuser_client, q="Ruiz")

    cl = response.context["cl"]
    assert isinstance(cl.result_count, CappedCount) and str(cl.result_count) == "3+"
    (count,) = [q for q in queries if "COUNT(*)" in q.upper()]
    assert re.search(r"LIMIT 4\b", count) and "ORDER BY" not in count.upper()
    page = response.content.decode()
    assert "3+ results" in page and "3+ bookings" in page
    assert "Select all 3+ bookings" in page
    assert len(cl.result_list) == 2  # the page itself is whole


def test_under_the_cap_the_count_is_exact(superuser_client, small_cap):
    BookingFactory(guest_name="Ana Ruiz")
    BookingFactory(guest_name="Ben Ruiz")
    BookingFactory(guest_name="Someone Else")

    response, _ = _list(superuser_client, q="Ruiz")

    cl = response.context["cl"]
    assert cl.result_count == 2 and not isinstance(cl.result_count, CappedCount)
    assert "2 results" in response.content.decode()


def test_paging_further_counts_further(superuser_client, small_cap):
    boat = BoatFactory()
    for n in range(9):
        BookingFactory(boat=boat, guest_name=f"Ana Ruiz {n}")

    first, _ = _list(superuser_client, q="Ruiz")
    third, _ = _list(superuser_client, q="Ruiz", p=3)

    assert str(first.context["cl"].result_count) == "3+"
    cl = third.context["cl"]
    assert str(cl.result_count) == "6+" and len(cl.result_list) == 2
    assert "?p=4&amp;q=Ruiz" in third.content.decode()  # a next page is offered


def test_crew_names_still_match_past_the_cap(superuser_client, small_cap):
    member = CrewMemberFactory(name="Cora Okafor")
    for _ in range(5):
        CrewAssignmentFactory(member=member, booking=BookingFactory(guest_name="Guest"))
    BookingFactory(guest_name="Dan Okafor")

    response, _ = _list(superuser_client, q="Okafor")

    assert str(response.context["cl"].result_count) == "3+"


def test_an_action_on_all_matches_of_a_capped_list_reaches_every_match(superuser_client, small_cap):
    boat = BoatFactory()
    bookings = [BookingFactory(boat=boat, guest_name=f"Ana Ruiz {n}") for n in range(6)]
    for booking in bookings:
        TargetState.objects.create(booking=booking, target="crew", status="failed")

    response = superuser_client.post(
        f"{BOOKINGS}?q=Ruiz",
        {
            "action": "retry_failed",
            "select_across": "1",
            "index": "0",
            ACTION_CHECKBOX_NAME: [bookings[0].pk],
        },
    )

    assert response.status_code == 302
    assert not TargetState.objects.filter(status="failed").exists()


def test_the_paginator_without_a_limit_counts_exactly():
    for _ in range(4):
        BookingFactory()
    paginator = EstimatedCountPaginator(Booking.objects.filter(party_size__gte=1), 2)
    assert paginator.count == 4 and not isinstance(paginator.count, CappedCount)


def test_search_matches_within_one_column_not_across_two():
    from bookings.search import booking_search

    BookingFactory(guest_name="Ana Ruiz", guest_email="kona@example.com")
    assert booking_search(Booking.objects.all(), "Ruiz").count() == 1
    assert booking_search(Booking.objects.all(), '"Ruiz kona"').count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram index: PostgreSQL only")
def test_a_search_can_read_the_search_document_index():
    """The index (migration 0011) is on the very expression a search compiles."""
    from bookings.search import booking_search

    BookingFactory(external_id="BS-4012345")
    queryset = booking_search(Booking.objects.all(), "BS-4012345")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # not along booking_start either
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "booking_search_document_trgm" in plan, plan
    assert list(queryset) == list(Booking.objects.filter(external_id="BS-4012345"))
