"""The week board and the Today view: what a dispatcher and the dock see, at a fixed cost."""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.week_board import board_build, week_start
from charterops.models import TargetState
from tests.factories import (
    BoatFactory,
    BookingFactory,
    ChecklistItemFactory,
    CrewAssignmentFactory,
)

pytestmark = pytest.mark.django_db
BOARD = reverse("admin:bookings_booking_week")


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


def _charter(boat, day: date, hour: int = 10, **fields) -> Booking:
    booking = BookingFactory(boat=boat, start=_at(day, hour), end=_at(day, hour + 4), **fields)
    CrewAssignmentFactory(booking=booking, response="accepted")
    CrewAssignmentFactory(booking=booking, response="invited")
    ChecklistItemFactory(booking=booking, done_at=timezone.now())
    TargetState.objects.create(booking=booking, target="calendar", status="done")
    return booking


def _get(client, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(BOARD, params or {})
    assert response.status_code == 200
    return response, len(queries.captured_queries)


def test_the_board_costs_the_same_with_two_or_twenty_charters(superuser_client):
    monday = week_start(timezone.localdate())
    boats = BoatFactory.create_batch(3)
    for n in range(2):
        _charter(boats[n], monday + timedelta(days=n))
    superuser_client.get(BOARD)
    _, few = _get(superuser_client)
    for n in range(18):
        _charter(boats[n % 3], monday + timedelta(days=n % 7), hour=6 + n % 3 * 4)
    response, many = _get(superuser_client)
    assert few == many <= 10
    assert response.content.decode().count('class="co-card"') == 20


def test_boats_down_days_across_with_the_charter_s_card(superuser_client):
    today = timezone.localdate()
    jada = BoatFactory(name="Jada")
    BoatFactory(name="Zephyr")  # no charter this week: still a row, free to book
    booking = _charter(jada, today, guest_name="Ana Ruiz")
    member = booking.assignments.get(response="invited").member
    page = _get(superuser_client)[0].content.decode()
    assert page.index(">Jada</th>") < page.index(">Zephyr</th>")
    assert 'aria-current="date"' in page and "today</span>" in page
    card = page[page.index('class="co-card"') :]
    card = card[: card.index("</a>")]
    assert reverse("admin:bookings_booking_change", args=[booking.pk]) in page
    assert "10:00–14:00" in card and "Ana Ruiz" in card
    assert member.name in card and "(not answered yet)" in card
    assert "Ready" in card and "Calendar: Done." in card


def test_prev_and_next_move_a_week_and_old_weeks_show_their_charters(superuser_client):
    boat = BoatFactory()
    past = _charter(boat, timezone.localdate() - timedelta(days=14), guest_name="Earlier Guest")
    response, _ = _get(superuser_client)
    board = response.context["board"]
    assert board.next - board.previous == timedelta(days=14)
    page = _get(superuser_client, {"week": board.previous.isoformat()})[0].content.decode()
    assert "Earlier Guest" not in page
    older = board.previous - timedelta(days=7)
    page = _get(superuser_client, {"week": older.isoformat()})[0].content.decode()
    assert "Earlier Guest" in page and past.guest_name in page


def test_today_view_lists_only_today_s_charters_by_time(superuser_client):
    today = timezone.localdate()
    boat, other = BoatFactory(), BoatFactory()
    late = _charter(boat, today, hour=15, guest_name="Late Guest")
    early = _charter(other, today, hour=8, guest_name="Early Guest")
    _charter(boat, today + timedelta(days=1), guest_name="Tomorrow Guest")
    response, _ = _get(superuser_client, {"view": "today"})
    assert [c.booking for c in response.context["cards"]] == [early, late]
    assert "Tomorrow Guest" not in response.content.decode()


def test_the_today_view_costs_the_same_with_one_or_twelve_charters(superuser_client):
    today = timezone.localdate()
    boats = BoatFactory.create_batch(3)
    _charter(boats[0], today, hour=8)
    superuser_client.get(BOARD, {"view": "today"})
    _, few = _get(superuser_client, {"view": "today"})
    for n in range(11):
        _charter(boats[n % 3], today, hour=6 + n % 4 * 4)
    response, many = _get(superuser_client, {"view": "today"})
    assert few == many <= 10
    assert len(response.context["cards"]) == 12


def test_cancelled_charters_are_off_the_board(superuser_client):
    boat = BoatFactory()
    _charter(boat, timezone.localdate(), status="cancelled", guest_name="Gone Guest")
    assert "Gone Guest" not in _get(superuser_client)[0].content.decode()


def test_the_board_is_for_staff_who_may_see_bookings(client, django_user_model):
    django_user_model.objects.create_user("deck", password="pw-12345678", is_staff=True)
    client.login(username="deck", password="pw-12345678")
    assert client.get(BOARD).status_code == 403


def test_board_build_puts_a_charter_on_an_inactive_boat_in_its_own_row():
    monday = week_start(timezone.localdate())
    retired = BoatFactory(active=False)
    booking = _charter(retired, monday)
    board = board_build(monday)
    row = next(r for r in board.rows if r.boat == retired)
    assert row.days[0] == [booking]
