"""The dispatcher's lists cost the page, not the table: no whole-table aggregates, fixed filters."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from bookings.models import Booking
from charterops import admin_lists
from charterops.admin_lists import EstimatedCountPaginator, table_row_estimate
from charterops.audit import audit_log
from charterops.models import TargetState
from tests.factories import (
    BoatFactory,
    BookingFactory,
    ChecklistItemFactory,
    CrewAssignmentFactory,
    CrewMemberFactory,
)

pytestmark = pytest.mark.django_db
BOOKINGS = reverse("admin:bookings_booking_changelist")


def _get(client, url: str, params: dict | None = None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return response, [q["sql"] for q in queries.captured_queries]


def _charter(boat, *, items_done: int, items: int = 3, **fields) -> Booking:
    booking = BookingFactory(boat=boat, **fields)
    CrewAssignmentFactory(booking=booking)
    for n in range(items):
        ChecklistItemFactory(
            booking=booking, position=n, done_at=timezone.now() if n < items_done else None
        )
    return booking


def test_the_booking_list_costs_the_same_at_3_and_at_30_bookings(superuser_client):
    boat = BoatFactory()
    for _ in range(3):
        _charter(boat, items_done=1)
    _, small = _get(superuser_client, BOOKINGS)
    for _ in range(27):
        _charter(boat, items_done=1)
    _, large = _get(superuser_client, BOOKINGS)
    assert len(small) == len(large) <= 11


def test_the_list_reads_no_whole_table_aggregate(superuser_client):
    """No DISTINCT (date hierarchy, filters), no GROUP BY over bookings, no second COUNT."""
    _charter(BoatFactory(), items_done=1)
    _, queries = _get(superuser_client, BOOKINGS)
    assert not [q for q in queries if "DISTINCT" in q.upper()]
    grouped = [q for q in queries if "GROUP BY" in q.upper()]
    # the one grouped query is the page's checklist counts, over its bookings' ids only
    assert len(grouped) == 1 and '"crew_checklistitem"."booking_id" IN' in grouped[0]
    assert sum("COUNT(*)" in q.upper() for q in queries) <= 1


def test_readiness_is_counted_for_the_bookings_on_the_page(superuser_client):
    boat = BoatFactory()
    ready = _charter(boat, items_done=3, guest_name="Ready Guest")
    open_ = _charter(boat, items_done=1, guest_name="Open Guest")
    response, _ = _get(superuser_client, BOOKINGS)
    shown = {b.pk: b for b in response.context["cl"].result_list}
    assert (shown[ready.pk].cl_done, shown[ready.pk].cl_total) == (3, 3)
    assert (shown[open_.pk].cl_done, shown[open_.pk].cl_total) == (1, 3)
    page = response.content.decode()
    assert page.count('alt="True"') >= 1 and page.count('alt="False"') >= 1


def test_search_finds_crew_names_and_meeting_points_and_ands_the_words(superuser_client):
    boat = BoatFactory()
    kona = BookingFactory(boat=boat, guest_name="Ana Ruiz", meeting_point="Kona Kai Marina")
    shelter = BookingFactory(boat=boat, guest_name="Ben Okafor", meeting_point="Shelter Island")
    CrewAssignmentFactory(booking=shelter, member=CrewMemberFactory(name="Marisol Quintero"))
    CrewAssignmentFactory(booking=kona, member=CrewMemberFactory(name="Tom Hale"))

    def found(q: str) -> set[int]:
        response, queries = _get(superuser_client, BOOKINGS, {"q": q})
        assert not [s for s in queries if "DISTINCT" in s.upper()]
        return {b.pk for b in response.context["cl"].result_list}

    assert found("quintero") == {shelter.pk}
    assert found("kona kai") == {kona.pk}
    assert found("ruiz hale") == {kona.pk}  # guest name and crew name of the same charter
    assert found("ruiz quintero") == set()
    assert found(kona.external_id) == {kona.pk}


def test_the_crew_answers_filter_finds_bookings_once_without_distinct(superuser_client):
    boat = BoatFactory()
    silent = BookingFactory(boat=boat)
    CrewAssignmentFactory.create_batch(2, booking=silent, response="invited")
    CrewAssignmentFactory(booking=BookingFactory(boat=boat), response="accepted")
    response, queries = _get(superuser_client, BOOKINGS, {"crew": "unanswered"})
    assert [b.pk for b in response.context["cl"].result_list] == [silent.pk]
    assert not [q for q in queries if "DISTINCT" in q.upper()]


def test_the_date_hierarchy_offers_years_then_every_month_then_every_day(superuser_client):
    boat = BoatFactory()
    start = timezone.now().replace(year=2025, month=3, day=14, hour=18)
    march = BookingFactory(boat=boat, start=start, end=start + timedelta(hours=4))
    later = start.replace(year=2027, month=7)
    BookingFactory(boat=boat, start=later, end=later + timedelta(hours=4))
    page = _get(superuser_client, BOOKINGS)[0].content.decode()
    for year in ("2025", "2026", "2027"):
        assert f"?start__year={year}" in page
    page = _get(superuser_client, BOOKINGS, {"start__year": "2025"})[0].content.decode()
    assert page.count("start__month=") == 12
    response, _ = _get(superuser_client, BOOKINGS, {"start__year": "2025", "start__month": "3"})
    assert response.content.decode().count("start__day=") == 31
    assert [b.pk for b in response.context["cl"].result_list] == [march.pk]


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:charterops_targetstate_changelist"),
        reverse("admin:charterops_auditevent_changelist"),
        reverse("admin:bookings_webhookdelivery_changelist"),
    ],
)
def test_the_system_lists_read_no_distinct_values_and_count_once(superuser_client, url):
    _system_rows(BookingFactory())
    _, queries = _get(superuser_client, url)
    assert not [q for q in queries if "DISTINCT" in q.upper()]
    assert sum("COUNT(*)" in q.upper() for q in queries) <= 1


def _system_rows(booking: Booking) -> None:
    for target in ("calendar", "crew"):
        TargetState.objects.create(booking=booking, target=target)
    audit_log("bookings.booking.created", booking)
    audit_log("crew.checklist_item.completed", booking)


def test_fixed_filters_still_filter(superuser_client):
    booking = BookingFactory()
    _system_rows(booking)
    url = reverse("admin:charterops_targetstate_changelist")
    response, _ = _get(superuser_client, url, {"target": "calendar"})
    assert {s.target for s in response.context["cl"].result_list} == {"calendar"}
    assert response.context["cl"].result_list[0].booking_id == booking.pk
    url = reverse("admin:charterops_auditevent_changelist")
    response, _ = _get(superuser_client, url, {"action": "bookings."})
    actions = {e.action for e in response.context["cl"].result_list}
    assert actions and all(a.startswith("bookings.") for a in actions)


def test_the_paginator_counts_filtered_lists_and_estimates_long_unfiltered_ones(monkeypatch):
    boat = BoatFactory()
    BookingFactory.create_batch(3, boat=boat)
    filtered = Booking.objects.filter(boat=boat).order_by("pk")
    assert EstimatedCountPaginator(filtered, 2).count == 3
    if connection.vendor != "postgresql":
        assert table_row_estimate(Booking) is None
        assert EstimatedCountPaginator(Booking.objects.order_by("pk"), 2).count == 3
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bookings_booking")
    monkeypatch.setattr(admin_lists, "ESTIMATE_ABOVE", 1)
    with CaptureQueriesContext(connection) as queries:
        estimate = EstimatedCountPaginator(Booking.objects.order_by("pk"), 2).count
    assert estimate == table_row_estimate(Booking) == 3
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_the_booking_page_costs_the_same_with_one_or_six_crew_and_forty_items(superuser_client):
    from tests.factories import NotificationFactory

    booking = BookingFactory()
    url = reverse("admin:bookings_booking_change", args=[booking.pk])

    def grow(crew: int, items: int) -> None:
        for _ in range(crew):
            member = CrewMemberFactory()
            CrewAssignmentFactory(booking=booking, member=member)
            NotificationFactory(booking=booking, member=member)
        for _ in range(items):
            ChecklistItemFactory(booking=booking, done_by=member, done_at=timezone.now())

    grow(1, 2)
    superuser_client.get(url)  # the session's first request writes it
    _, small = _get(superuser_client, url)
    grow(5, 38)
    response, large = _get(superuser_client, url)
    assert len(small) == len(large)
    page = response.content.decode()
    for assignment in booking.assignments.select_related("member"):
        assert f">{escape(assignment.member.name)}</option>" in page  # each row's member, labelled


def test_fanout_badges_rendered_once_per_state_still_show_each_rows_own(superuser_client):
    boat = BoatFactory()
    ok, failing = BookingFactory(boat=boat), BookingFactory(boat=boat)
    for booking in (ok, failing):
        TargetState.objects.create(booking=booking, target="crew", status="done")
    TargetState.objects.create(
        booking=failing, target="calendar", status="failed", last_error="share the calendar"
    )
    response, _ = _get(superuser_client, BOOKINGS)
    rows = re.findall(r"<tr>.*?</tr>", response.content.decode(), re.S)
    row_of = {b.pk: next(r for r in rows if f'value="{b.pk}"' in r) for b in (ok, failing)}
    assert "share the calendar" in row_of[failing.pk] and "co-failed" in row_of[failing.pk]
    assert "co-failed" not in row_of[ok.pk] and "co-done" in row_of[ok.pk]
    TargetState.objects.filter(booking=ok).update(status="failed", last_error="gone")
    response, _ = _get(superuser_client, BOOKINGS)
    assert "Crew: Failed — gone" in response.content.decode()
