"""Expenses: validation, tip splits, approval, the per-charter money summary and the crew pay CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from charterops.models import AuditEvent
from crew.expenses import (
    ExpenseRefused,
    booking_money_summary,
    crew_pay_csv,
    crew_pay_rows,
    expense_approve,
    expense_clean,
    expense_record,
    expense_update,
    tips_split_equal,
)
from crew.models import Expense
from tests import factories

pytestmark = pytest.mark.django_db


class TestValidation:
    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"kind": "supplies", "amount": "-0.01"}, "amount"),
            ({"kind": "supplies", "amount": "0"}, "amount"),
            ({"kind": "supplies", "amount": "1e9"}, "amount"),
            ({"kind": "supplies", "amount": "Infinity"}, "amount"),
            ({"kind": "supplies", "amount": "12,00.5x"}, "amount"),
            ({"kind": "tips", "amount": "5000.01"}, "amount"),
            ({"kind": "mileage", "miles": "500.1"}, "miles"),
            ({"kind": "mileage", "miles": "0"}, "miles"),
            ({"kind": "mileage", "amount": "30"}, "miles"),
            ({"kind": "refund", "amount": "3"}, "kind"),
        ],
    )
    def test_refuses(self, kwargs, field):
        with pytest.raises(ValidationError) as exc:
            expense_clean(**kwargs)
        assert field in exc.value.message_dict

    def test_mileage_amount_comes_from_the_miles_not_from_the_person(self, settings):
        settings.CHARTEROPS_MILEAGE_RATE = "0.655"
        values = expense_clean(kind="mileage", miles="13", amount="999")
        assert values["amount"] == Decimal("8.52")  # 13 × 0.655 = 8.515 → 8.52
        assert values["miles"] == Decimal("13.0")

    def test_dollar_signs_and_thousands_separators_are_understood(self):
        assert expense_clean(kind="supplies", amount="$1,200.50")["amount"] == Decimal("1200.50")


class TestTips:
    def test_equal_split_never_loses_a_cent(self):
        split = tips_split_equal(Decimal("100.00"), [3, 1, 2])
        assert split == {"3": "33.34", "1": "33.33", "2": "33.33"}
        assert sum(Decimal(v) for v in split.values()) == Decimal("100.00")

    def test_shares_only_for_crew_on_board(self):
        with pytest.raises(ValidationError) as exc:
            expense_clean(kind="tips", amount="10", split={"99": "10"}, on_board=[1, 2])
        assert "crew on this charter" in exc.value.message_dict["split"][0]

    def test_recorded_tips_split_among_crew_not_declined(self):
        a = factories.CrewAssignmentFactory(response="accepted")
        b = factories.CrewAssignmentFactory(booking=a.booking, response="invited")
        factories.CrewAssignmentFactory(booking=a.booking, response="declined")
        tips = expense_record(a, kind="tips", amount="45")
        assert tips.split == {str(a.member_id): "22.50", str(b.member_id): "22.50"}


class TestOwnership:
    def test_update_refuses_another_member_and_an_approved_entry(self, staff_user):
        a = factories.CrewAssignmentFactory()
        other = factories.CrewAssignmentFactory(booking=a.booking)
        expense = expense_record(a, kind="supplies", amount="12.00", note="Ice")
        with pytest.raises(ExpenseRefused, match="your own"):
            expense_update(expense, member=other.member, kind="supplies", amount="1")
        assert expense_approve(expense, actor=staff_user) is True
        assert expense_approve(expense, actor=staff_user) is False  # idempotent
        with pytest.raises(ExpenseRefused, match="approved"):
            expense_update(expense, member=a.member, kind="supplies", amount="1")
        expense.refresh_from_db()
        assert expense.amount == Decimal("12.00") and expense.approved_by == staff_user
        actions = list(AuditEvent.objects.values_list("action", flat=True).order_by("pk"))
        assert actions == ["crew.expense.recorded", "crew.expense.approved"]

    def test_a_cancelled_charter_takes_no_new_expenses(self):
        a = factories.CrewAssignmentFactory(booking__status="cancelled")
        with pytest.raises(ExpenseRefused):
            expense_record(a, kind="supplies", amount="5")


def _charter(start_days: int, *, owner_payout: str = "855.00"):
    booking = factories.BookingFactory(owner_payout=Decimal(owner_payout))
    booking.start = booking.start - timedelta(days=7) + timedelta(days=start_days)
    booking.end = booking.start + timedelta(hours=4)
    booking.save()
    return booking


class TestMoney:
    def test_summary_counts_pay_approved_expenses_and_tips_against_owner_payout(self, staff_user):
        booking = _charter(1)
        cap = factories.CrewAssignmentFactory(booking=booking, role="captain", pay=300)
        mate = factories.CrewAssignmentFactory(booking=booking, pay=150, response="accepted")
        factories.CrewAssignmentFactory(booking=booking, pay=999, response="declined")
        approved = expense_record(cap, kind="supplies", amount="40.00")
        expense_approve(approved, actor=staff_user)
        expense_record(mate, kind="mileage", miles="10")  # pending: $7.00
        expense_record(mate, kind="tips", amount="120")
        m = booking_money_summary(booking)
        assert m.owner_payout == Decimal("855.00")
        assert m.crew_pay == Decimal("450.00")
        assert m.approved_expenses == Decimal("40.00")
        assert m.pending_expenses == Decimal("7.00")
        assert m.tips == Decimal("120.00")
        assert m.margin == Decimal("365.00")  # 855 − 450 − 40
        assert str(m.pending_expenses) == "7.00"  # cents, whatever the database sums with

    def test_crew_pay_csv_numbers(self, staff_user, settings):
        settings.CHARTEROPS_MILEAGE_RATE = "0.70"
        ana = factories.CrewMemberFactory(name="Ana Reyes")
        ben = factories.CrewMemberFactory(name="Ben Ortiz")
        first, second, outside = _charter(1), _charter(2), _charter(40)
        a1 = factories.CrewAssignmentFactory(booking=first, member=ana, pay=200)
        factories.CrewAssignmentFactory(booking=first, member=ben, pay=150)
        a2 = factories.CrewAssignmentFactory(booking=second, member=ana, pay=210)
        factories.CrewAssignmentFactory(booking=second, member=ben, pay=140, response="declined")
        factories.CrewAssignmentFactory(booking=outside, member=ana, pay=999)
        for expense in (
            expense_record(a1, kind="mileage", miles="20"),  # 14.00
            expense_record(a1, kind="supplies", amount="35.50"),
            expense_record(a1, kind="tips", amount="101"),  # 50.50 each (ana, ben)
            expense_record(a2, kind="other", amount="12.25"),
        ):
            expense_approve(expense, actor=staff_user)
        expense_record(a2, kind="supplies", amount="500")  # not approved: not counted

        start = timezone.localdate(first.start)
        end = timezone.localdate(second.start)
        rows = list(csv.DictReader(io.StringIO(crew_pay_csv(start, end))))
        by_name = {r["member"]: r for r in rows}
        assert by_name["Ana Reyes"] == {
            **by_name["Ana Reyes"],
            "charters": "2",
            "pay": "410.00",
            "mileage": "14.00",
            "supplies": "35.50",
            "other": "12.25",
            "reimbursements": "61.75",
            "total_due": "471.75",
            "tips": "50.50",
        }
        assert by_name["Ana Reyes"]["bookings"] == f"{first.reference} {second.reference}"
        assert by_name["Ben Ortiz"]["charters"] == "1"
        assert by_name["Ben Ortiz"]["total_due"] == "150.00"
        assert by_name["Ben Ortiz"]["tips"] == "50.50"
        assert by_name["TOTAL"]["total_due"] == "621.75"
        assert by_name["TOTAL"]["tips"] == "101.00"
        assert [r["member"] for r in rows] == ["Ana Reyes", "Ben Ortiz", "TOTAL"]

    def test_crew_pay_rows_take_at_most_three_queries_whatever_the_range(
        self, django_assert_max_num_queries
    ):
        for n in range(4):
            factories.CrewAssignmentFactory(booking=_charter(n + 1))
        with django_assert_max_num_queries(3):
            crew_pay_rows(timezone.localdate(), timezone.localdate() + timedelta(days=10))


class TestAdmin:
    def test_approve_action(self, superuser_client):
        expenses = [factories.ExpenseFactory(), factories.ExpenseFactory()]
        response = superuser_client.post(
            reverse("admin:crew_expense_changelist"),
            {"action": "approve_expenses", "_selected_action": [e.pk for e in expenses]},
            follow=True,
        )
        assert "Approved 2 expense(s)." in response.content.decode()
        assert Expense.objects.filter(approved_at__isnull=False).count() == 2

    def test_expense_list_links_the_receipt_through_an_expiring_url(self, superuser_client):
        factories.ExpenseFactory(receipt_key="photos/1/crew/m1-abc-receipt.jpg")
        body = superuser_client.get(reverse("admin:crew_expense_changelist")).content.decode()
        assert "/uploads/photo/" in body

    def test_crew_pay_export_downloads_csv_and_shows_a_table(self, superuser_client):
        booking = _charter(1)
        factories.CrewAssignmentFactory(booking=booking, member__name="Ana Reyes", pay=200)
        day = timezone.localdate(booking.start).isoformat()
        page_url = reverse("admin:crew_expense_crew_pay")
        page = superuser_client.get(page_url, {"start": day, "end": day})
        assert page.status_code == 200
        assert "Ana Reyes" in page.content.decode() and "$200.00" in page.content.decode()
        download = superuser_client.get(page_url, {"start": day, "end": day, "format": "csv"})
        assert download["Content-Type"].startswith("text/csv")
        assert f"crew-pay-{day}-to-{day}.csv" in download["Content-Disposition"]
        assert "Ana Reyes" in download.content.decode()
        assert (
            "Crew pay summary"
            in superuser_client.get(reverse("admin:crew_expense_changelist")).content.decode()
        )

    def test_crew_pay_export_refuses_a_backwards_range(self, superuser_client):
        response = superuser_client.get(
            reverse("admin:crew_expense_crew_pay"), {"start": "2026-12-10", "end": "2026-12-01"}
        )
        assert "The end date is before the start date." in response.content.decode()

    def test_crew_pay_export_needs_permission(self, client, django_user_model):
        user = django_user_model.objects.create_user("deck", password="pw", is_staff=True)
        client.force_login(user)
        assert client.get(reverse("admin:crew_expense_crew_pay")).status_code == 403

    def test_booking_page_shows_money_summary(self, superuser_client, staff_user):
        booking = _charter(1, owner_payout="900.00")
        a = factories.CrewAssignmentFactory(booking=booking, pay=300)
        expense_approve(expense_record(a, kind="supplies", amount="50"), actor=staff_user)
        body = superuser_client.get(
            reverse("admin:bookings_booking_change", args=[booking.pk])
        ).content.decode()
        assert 'data-margin="550.00"' in body
        assert "Crew operations" in body
