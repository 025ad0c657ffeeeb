"""Marketplace rules as data, and their arithmetic at the edges, across DST, on a frozen clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from bookings.marketplace.models import BookingPayout, MarketplaceRules
from bookings.marketplace.rules import (
    add_business_days,
    claim_deadline,
    no_show_thresholds,
    owner_cancel_penalty,
    payout_expected,
    request_expires_at,
    request_needs_attention,
    request_time_left,
)
from bookings.models import Booking
from charterops.models import AuditEvent
from tests import factories
from tests.bookings.test_admin import _form_data

pytestmark = pytest.mark.django_db


def pacific(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


@pytest.fixture
def rules():
    """The Boatsetter row the migration created, with its published defaults."""
    return MarketplaceRules.objects.get(source="boatsetter")


def booking_at(start: datetime, **fields) -> Booking:
    return factories.BookingFactory(start=start, end=start + timedelta(hours=4), **fields)


def test_boatsetter_defaults_come_with_the_migration(rules):
    assert (rules.request_expiry_hours, rules.owner_cancel_window_days) == (72, 7)
    assert rules.owner_cancel_penalty_percent == Decimal("20")
    assert (rules.renter_late_minutes, rules.owner_late_minutes) == (60, 30)
    assert rules.claim_deadline_hours == 48
    assert (rules.payout_min_business_days, rules.payout_max_business_days) == (2, 3)


class TestRequestExpiry:
    def test_72_elapsed_hours_across_the_fall_back(self, rules):
        # Arrives Saturday 10:00 PDT; clocks fall back Sunday Nov 1 2026 at 02:00.
        arrived = pacific(2026, 10, 31, 10, 0)
        with time_machine.travel(arrived, tick=False):
            booking = booking_at(pacific(2026, 11, 20, 10, 0), status="pending")
        expires = timezone.localtime(request_expires_at(booking, rules))
        assert expires == arrived.astimezone(UTC) + timedelta(hours=72)
        assert (expires.hour, expires.tzname()) == (9, "PST")  # 72 h, but 09:00 on the wall

    def test_time_left_and_the_attention_window_at_its_edges(self, rules):
        arrived = datetime(2026, 7, 1, 17, 0, tzinfo=UTC)
        with time_machine.travel(arrived, tick=False):
            booking = booking_at(pacific(2026, 7, 20, 10, 0), status="inquiry")
        expires = arrived + timedelta(hours=72)
        twelve_before = expires - timedelta(hours=12)
        assert request_time_left(booking, rules, now=arrived) == timedelta(hours=72)
        assert not request_needs_attention(booking, rules, now=twelve_before - timedelta(seconds=1))
        assert request_needs_attention(booking, rules, now=twelve_before)
        assert request_needs_attention(booking, rules, now=expires - timedelta(seconds=1))
        assert request_time_left(booking, rules, now=expires) == timedelta(0)
        assert not request_needs_attention(booking, rules, now=expires)  # expired, not urgent
        assert request_time_left(booking, rules, now=expires + timedelta(hours=5)) == timedelta(0)

    def test_a_confirmed_booking_has_no_request_clock(self, rules):
        booking = factories.BookingFactory(status="confirmed")
        assert request_time_left(booking, rules) is None

    def test_edited_rules_are_used(self, rules):
        rules.request_expiry_hours = 24
        rules.save()
        booking = factories.BookingFactory(status="pending")
        assert request_expires_at(booking, rules) == booking.created_at + timedelta(hours=24)


class TestOwnerPenalty:
    def test_window_opens_7_calendar_days_before_across_the_fall_back(self, rules):
        booking = booking_at(pacific(2026, 11, 5, 10, 0), boat_price=Decimal("950.00"))
        opens = pacific(2026, 10, 29, 10, 0)  # 10:00 PDT, a week of wall clock before
        elapsed = booking.start.astimezone(UTC) - opens.astimezone(UTC)
        assert elapsed == timedelta(days=7, hours=1)  # 169 elapsed hours
        before = owner_cancel_penalty(booking, rules, now=opens - timedelta(seconds=1))
        at_edge = owner_cancel_penalty(booking, rules, now=opens)
        assert (before.applies, before.amount) == (False, Decimal("0.00"))
        assert (at_edge.applies, at_edge.amount) == (True, Decimal("190.00"))
        assert at_edge.window_starts_at == opens

    def test_window_across_the_spring_forward_is_167_hours(self, rules):
        booking = booking_at(pacific(2026, 3, 12, 10, 0), boat_price=Decimal("1000.00"))
        opens = pacific(2026, 3, 5, 10, 0)  # 10:00 PST
        elapsed = booking.start.astimezone(UTC) - opens.astimezone(UTC)
        assert elapsed == timedelta(days=7, hours=-1)  # 167 elapsed hours
        assert owner_cancel_penalty(booking, rules, now=opens).amount == Decimal("200.00")
        assert not owner_cancel_penalty(booking, rules, now=opens - timedelta(minutes=1)).applies

    def test_percentage_rounds_to_the_cent(self, rules):
        rules.owner_cancel_penalty_percent = Decimal("12.5")
        booking = booking_at(pacific(2026, 7, 20, 10, 0), boat_price=Decimal("333.33"))
        assert owner_cancel_penalty(booking, rules, now=booking.start).amount == Decimal("41.67")

    def test_the_cancel_confirmation_shows_the_penalty_before_confirming(self, superuser_client):
        with time_machine.travel(pacific(2026, 7, 15, 12, 0), tick=False):
            soon = booking_at(pacific(2026, 7, 18, 10, 0), boat_price=Decimal("950.00"))
            later = booking_at(pacific(2026, 8, 30, 10, 0), boat_price=Decimal("950.00"))
            direct = booking_at(pacific(2026, 7, 18, 10, 0), source="direct", external_id="")
            response = superuser_client.post(
                reverse("admin:bookings_booking_changelist"),
                {"action": "cancel_bookings", ACTION_CHECKBOX_NAME: [soon.pk, later.pk, direct.pk]},
            )
        body = response.content.decode()
        assert f'data-owner-penalty="{soon.pk}"' in body
        assert "Owner penalty if cancelled now: $190.00" in body
        assert "No owner penalty if cancelled before Sun Aug 23, 10:00 AM PDT" in body
        assert f'data-owner-penalty="{direct.pk}"' not in body
        assert Booking.objects.filter(status="cancelled").count() == 0  # nothing yet


class TestNoShowsClaimsPayouts:
    def test_no_show_thresholds_around_the_start(self, rules):
        booking = booking_at(pacific(2026, 11, 1, 1, 45))  # the start straddles the fall back
        limits = no_show_thresholds(booking, rules)
        start = booking.start.astimezone(UTC)
        assert limits.owner_late_at - start == timedelta(minutes=30)
        assert limits.renter_late_at - start == timedelta(minutes=60)
        assert "ready by 1:15 AM" in str(limits)  # 02:15 PDT is 01:15 PST
        assert "not here by 1:45 AM" in str(limits)

    def test_the_crew_page_shows_the_no_show_thresholds(self, client):
        from tests.crew.portal_helpers import open_as

        assignment = factories.CrewAssignmentFactory()
        open_as(client, assignment)
        body = client.get(reverse("crew:event", args=[assignment.booking_id])).content.decode()
        assert "Boat and crew ready by 10:30 AM" in body
        assert "Guests not here by 11:00 AM" in body

    def test_claim_deadline_is_48_hours_after_the_earlier_of_end_and_time_back(self, rules):
        booking = booking_at(pacific(2026, 7, 14, 10, 0))
        end = booking.end.astimezone(UTC)
        assert claim_deadline(booking, rules) == end + timedelta(hours=48)
        early = end - timedelta(minutes=40)
        assert claim_deadline(booking, rules, ended_at=early) == early + timedelta(hours=48)
        late = end + timedelta(minutes=40)
        assert claim_deadline(booking, rules, ended_at=late) == end + timedelta(hours=48)

    def test_business_days_skip_the_weekend(self):
        friday = date(2026, 7, 17)
        assert add_business_days(friday, 2) == date(2026, 7, 21)  # Tuesday
        assert add_business_days(friday, 3) == date(2026, 7, 22)

    def test_payout_expected_then_overdue_then_received_or_short(self, rules):
        booking = booking_at(
            pacific(2026, 7, 17, 10, 0), status="completed", owner_payout=Decimal("855.00")
        )
        expected = payout_expected(booking, rules, today=date(2026, 7, 22))
        assert (expected.earliest, expected.latest, expected.status) == (
            date(2026, 7, 21),
            date(2026, 7, 22),
            "expected",
        )
        assert payout_expected(booking, rules, today=date(2026, 7, 23)).status == "overdue"
        payout = BookingPayout(booking=booking, amount=Decimal("855.00"), received_on=date.today())
        assert payout_expected(booking, rules, received=payout).status == "received"
        payout.amount = Decimal("800.00")
        assert payout_expected(booking, rules, received=payout).status == "short"


class TestStaffPages:
    def test_a_pending_request_shows_its_time_left(self, superuser_client):
        arrived = datetime(2026, 7, 1, 17, 0, tzinfo=UTC)
        with time_machine.travel(arrived, tick=False):
            booking = booking_at(pacific(2026, 7, 20, 10, 0), status="pending")
        with time_machine.travel(arrived + timedelta(hours=62, minutes=20), tick=False):
            body = superuser_client.get(
                reverse("admin:bookings_booking_change", args=[booking.pk])
            ).content.decode()
        assert 'data-marketplace="request-expiry"' in body
        assert "9 h 40 min left - ANSWER NOW" in body

    def test_the_attention_filter_lists_requests_in_their_last_12_hours(self, superuser_client):
        now = datetime(2026, 7, 10, 17, 0, tzinfo=UTC)
        made = {}
        for name, age in {"urgent": 61, "calm": 50, "gone": 73}.items():
            with time_machine.travel(now - timedelta(hours=age), tick=False):
                made[name] = booking_at(
                    pacific(2026, 7, 25, 10, 0), status="pending", guest_name=f"Guest {name}"
                )
        url = reverse("admin:bookings_booking_changelist")
        with time_machine.travel(now, tick=False):
            expiring = superuser_client.get(url, {"request": "expiring"}).content.decode()
            expired = superuser_client.get(url, {"request": "expired"}).content.decode()
        assert "Guest urgent" in expiring and "Guest calm" not in expiring
        assert "Guest gone" not in expiring
        assert "Guest gone" in expired and "Guest urgent" not in expired

    def test_staff_record_the_payout_and_filter_overdue_or_short(self, superuser_client):
        def completed(name, start, payout="855.00"):
            return booking_at(
                start, status="completed", guest_name=name, owner_payout=Decimal(payout)
            )

        with time_machine.travel(pacific(2026, 7, 23, 9, 0), tick=False):
            late = completed("Guest late", pacific(2026, 7, 17, 10, 0))  # due by Wed 22nd
            on_time = completed("Guest waiting", pacific(2026, 7, 20, 10, 0))
            short = completed("Guest short", pacific(2026, 7, 10, 10, 0))
            page = reverse("admin:bookings_booking_change", args=[short.pk])
            data = _form_data(
                superuser_client,
                short.boat,
                source="boatsetter",
                external_id=short.external_id,
                status="completed",
                guest_name="Guest short",
                start_0="2026-07-10",
                end_0="2026-07-10",
                **{
                    "payout_received-TOTAL_FORMS": "1",
                    "payout_received-INITIAL_FORMS": "0",
                    "payout_received-0-amount": "800.00",
                    "payout_received-0-received_on": "2026-07-14",
                    "payout_received-0-note": "Boatsetter transfer",
                },
            )
            for inline in superuser_client.get(page).context["inline_admin_formsets"]:
                prefix = inline.formset.prefix
                data.setdefault(f"{prefix}-TOTAL_FORMS", "0")
                data.setdefault(f"{prefix}-INITIAL_FORMS", "0")
            response = superuser_client.post(page, data)
            assert response.status_code == 302, response.context["errors"]
            url = reverse("admin:bookings_booking_changelist")
            overdue, shorted = (
                {b.guest_name for b in superuser_client.get(url, q).context["cl"].result_list}
                for q in ({"payout": "overdue"}, {"payout": "short"})
            )
            body = superuser_client.get(page).content.decode()
        assert overdue == {"Guest late"}
        assert shorted == {"Guest short"}
        assert "Payout SHORT: $800.00 on Jul 14" in body
        recorded = AuditEvent.objects.get(action="bookings.payout.recorded")
        assert recorded.actor.username == "boss" and recorded.data["expected"] == "855.00"
        assert BookingPayout.objects.get(booking=short).note == "Boatsetter transfer"
        assert late.pk and on_time.pk


class TestRespondBy:
    """A request email's "Respond by" replaces the rules' window from arrival."""

    def test_the_deadline_given_wins_over_the_window(self, rules):
        arrived = pacific(2026, 10, 31, 10, 0)
        with time_machine.travel(arrived, tick=False):
            booking = booking_at(
                pacific(2026, 11, 20, 10, 0),
                status="pending",
                respond_by=datetime.fromisoformat("2026-11-01T01:30:00-08:00"),
            )
        expires = request_expires_at(booking, rules)
        # the second 1:30 of the fall-back night (PST), an hour after the first (PDT)
        assert expires == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
        assert timezone.localtime(expires).tzname() == "PST"
        first = datetime.fromisoformat("2026-11-01T01:30:00-07:00")
        assert request_time_left(booking, rules, now=first) == timedelta(hours=1)
        assert request_needs_attention(booking, rules, now=first)
        assert request_time_left(booking, rules, now=expires) == timedelta(0)

    def test_a_snapshot_that_does_not_mention_it_keeps_it(self, queen):
        from bookings.intake import booking_payload_parse, booking_upsert_from_event

        payload = {
            "id": "BS-1",
            "status": "pending",
            "boat": {"name": queen.name},
            "start": "2026-11-20T10:00:00-08:00",
            "end": "2026-11-20T14:00:00-08:00",
            "guest": {"name": "Ana R."},
            "party_size": 4,
            "respond_by": "2026-11-01T01:30:00-08:00",
        }
        booking_upsert_from_event("boatsetter", booking_payload_parse(payload), via="api")
        without = {k: v for k, v in payload.items() if k != "respond_by"}
        booking_upsert_from_event("boatsetter", booking_payload_parse(without), via="api")
        booking = Booking.objects.get()
        assert booking.respond_by == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
        booking_upsert_from_event(
            "boatsetter", booking_payload_parse({**payload, "respond_by": None}), via="api"
        )
        booking.refresh_from_db()
        assert booking.respond_by is None

    def test_the_page_and_the_filter_use_it_across_the_fall_back(self, superuser_client):
        # Arrived long ago (past 72 h) but the marketplace said: respond by 1:30 AM PST.
        now = datetime.fromisoformat("2026-11-01T01:00:00-07:00")  # the first 1:00 (PDT)
        with time_machine.travel(now - timedelta(hours=100), tick=False):
            given = booking_at(
                pacific(2026, 11, 20, 10, 0),
                status="pending",
                guest_name="Guest given",
                respond_by=datetime.fromisoformat("2026-11-01T01:30:00-08:00"),
            )
            booking_at(pacific(2026, 11, 21, 10, 0), status="pending", guest_name="Guest window")
        url = reverse("admin:bookings_booking_changelist")
        with time_machine.travel(now, tick=False):
            page = superuser_client.get(
                reverse("admin:bookings_booking_change", args=[given.pk])
            ).content.decode()
            expiring = superuser_client.get(url, {"request": "expiring"}).content.decode()
            expired = superuser_client.get(url, {"request": "expired"}).content.decode()
        # 1:00 PDT to 1:30 PST is an hour and a half of real time
        assert "Request expires Sun Nov 1, 1:30 AM PST: 1 h 30 min left - ANSWER NOW" in page
        assert "Guest given" in expiring and "Guest given" not in expired
        assert "Guest window" in expired and "Guest window" not in expiring
        with time_machine.travel(datetime(2026, 11, 1, 9, 30, tzinfo=UTC), tick=False):
            expired = superuser_client.get(url, {"request": "expired"}).content.decode()
        assert "Guest given" in expired
