"""Crew expenses after a charter (mileage, supplies, tips, other), their approval, and crew pay.

Members record and edit their own entries until staff approve them; approved entries are
what the money summary and the crew pay export count. Amounts are Decimal, in dollars.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from bookings.models import Booking
from bookings.photos.models import Photo
from charterops.audit import audit_log

from .models import CrewAssignment, CrewMember, Expense

CENT = Decimal("0.01")
#: beyond these a number is almost surely a typo (a missing decimal point), not an expense.
MAX_MILES = Decimal("500")
MAX_AMOUNT = {
    Expense.Kind.SUPPLIES: Decimal("2000"),
    Expense.Kind.OTHER: Decimal("2000"),
    Expense.Kind.TIPS: Decimal("5000"),
}


class ExpenseRefused(Exception):
    """A change a member may not make (someone else's entry, an approved one)."""


def mileage_rate() -> Decimal:
    """Dollars per mile from ``CHARTEROPS_MILEAGE_RATE``."""
    return Decimal(str(settings.CHARTEROPS_MILEAGE_RATE))


def mileage_amount(miles: Decimal) -> Decimal:
    """What ``miles`` are paid at the configured rate, rounded to the cent."""
    return (Decimal(miles) * mileage_rate()).quantize(CENT, rounding=ROUND_HALF_UP)


def crew_on_board(booking: Booking) -> list[CrewAssignment]:
    """The booking's crew who have not declined, captain first."""
    return list(
        booking.assignments.exclude(response=CrewAssignment.Response.DECLINED)
        .select_related("member")
        .order_by("role", "member__name")
    )


def tips_split_equal(amount: Decimal, member_ids: list[int]) -> dict[str, str]:
    """Share ``amount`` equally; leftover cents go one each to the first members listed."""
    if not member_ids:
        return {}
    cents = int((Decimal(amount) / CENT).to_integral_value())
    base, extra = divmod(cents, len(member_ids))
    return {
        str(pk): str((Decimal(base + (1 if i < extra else 0)) * CENT).quantize(CENT))
        for i, pk in enumerate(member_ids)
    }


def _decimal(value: Any, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        raise ValidationError({name: "Enter a number."}) from None
    if not number.is_finite():
        raise ValidationError({name: "Enter a number."})
    return number


def expense_clean(
    *,
    kind: str,
    amount: Any = None,
    miles: Any = None,
    split: dict[str, Any] | None = None,
    on_board: list[int] | None = None,
) -> dict[str, Any]:
    """Validate and normalise an entry; raises ``ValidationError`` keyed by field.

    Mileage is paid from miles (the amount is computed); every other kind needs a positive
    amount within a plausible limit. Tips get an equal split among ``on_board`` unless a
    split is given, which must name only crew on board and add up to the amount.
    """
    if kind not in Expense.Kind.values:
        raise ValidationError({"kind": "Choose what kind of expense this is."})
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"kind": kind, "miles": None, "split": {}}
    if kind == Expense.Kind.MILEAGE:
        miles = _decimal(miles, "miles")
        if miles is None:
            errors["miles"] = "Enter the miles driven."
        elif miles <= 0:
            errors["miles"] = "Miles must be more than zero."
        elif miles > MAX_MILES:
            errors["miles"] = f"{miles} miles is more than {MAX_MILES}: check the number."
        else:
            out["miles"] = miles.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            out["amount"] = mileage_amount(out["miles"])
    else:
        amount = _decimal(amount, "amount")
        limit = MAX_AMOUNT[kind]
        if amount is None:
            errors["amount"] = "Enter the amount."
        elif amount <= 0:
            errors["amount"] = "The amount must be more than zero."
        elif amount > limit:
            errors["amount"] = f"${amount} is more than ${limit}: check the number."
        elif amount != amount.quantize(CENT):
            errors["amount"] = "Use dollars and cents (two decimals at most)."
        else:
            out["amount"] = amount.quantize(CENT)
    if kind == Expense.Kind.TIPS and "amount" in out:
        on_board = on_board or []
        if split:
            shares: dict[str, Decimal] = {}
            for pk, share in split.items():
                try:
                    value = _decimal(share, "split")
                except ValidationError:
                    errors["split"] = "Each share must be a number."
                    break
                if str(pk) not in {str(m) for m in on_board}:
                    errors["split"] = "Tips can only be shared with crew on this charter."
                    break
                if value is not None and value < 0:
                    errors["split"] = "A share cannot be negative."
                    break
                if value:
                    shares[str(pk)] = value.quantize(CENT)
            if "split" not in errors:
                if sum(shares.values(), Decimal("0")) != out["amount"]:
                    errors["split"] = (
                        f"The shares add up to ${sum(shares.values(), Decimal('0'))}, "
                        f"not ${out['amount']}."
                    )
                out["split"] = {pk: str(v) for pk, v in shares.items()}
        else:
            out["split"] = tips_split_equal(out["amount"], list(on_board))
    if errors:
        raise ValidationError(errors)
    return out


def _check_receipt(booking: Booking, member: CrewMember, receipt_key: str) -> str:
    if not receipt_key:
        return ""
    ok = Photo.objects.filter(booking=booking, member=member, key=receipt_key).exists()
    if not ok:
        raise ValidationError({"receipt_key": "That receipt photo is not one of yours."})
    return receipt_key


def expense_record(
    assignment: CrewAssignment,
    *,
    kind: str,
    amount: Any = None,
    miles: Any = None,
    note: str = "",
    receipt_key: str = "",
    split: dict[str, Any] | None = None,
) -> Expense:
    """Record a new expense of the assignment's member on its charter.

    Validated by ``expense_clean`` (raises ``ValidationError``). Not idempotent: each call
    records a new entry. One transaction, one audit row (``crew.expense.recorded``).
    """
    booking, member = assignment.booking, assignment.member
    if booking.is_ended:
        raise ExpenseRefused("This charter was cancelled.")
    on_board = [a.member_id for a in crew_on_board(booking)]
    values = expense_clean(kind=kind, amount=amount, miles=miles, split=split, on_board=on_board)
    receipt_key = _check_receipt(booking, member, receipt_key)
    with transaction.atomic():
        expense = Expense.objects.create(
            booking=booking,
            member=member,
            note=(note or "").strip()[:300],
            receipt_key=receipt_key,
            **values,
        )
        audit_log(
            "crew.expense.recorded",
            expense,
            actor=member.user,
            booking=booking,
            data={"kind": kind, "amount": str(expense.amount)},
        )
    return expense


def expense_update(
    expense: Expense,
    *,
    member: CrewMember,
    kind: str,
    amount: Any = None,
    miles: Any = None,
    note: str = "",
    receipt_key: str | None = None,
    split: dict[str, Any] | None = None,
) -> Expense:
    """Change the member's own, not yet approved entry. Raises ``ExpenseRefused`` otherwise.

    The row is locked while checking, so a staff approval in between wins. Idempotent for
    the same values; one audit row (``crew.expense.updated``).
    """
    on_board = [a.member_id for a in crew_on_board(expense.booking)]
    values = expense_clean(kind=kind, amount=amount, miles=miles, split=split, on_board=on_board)
    if receipt_key is not None:
        values["receipt_key"] = _check_receipt(expense.booking, member, receipt_key)
    with transaction.atomic():
        locked = Expense.objects.select_for_update().get(pk=expense.pk)
        if locked.member_id != member.pk:
            raise ExpenseRefused("You can only change your own entries.")
        if locked.approved_at is not None:
            raise ExpenseRefused("This entry was approved; ask the office to change it.")
        values["note"] = (note or "").strip()[:300]
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(values))
        audit_log(
            "crew.expense.updated",
            locked,
            actor=member.user,
            booking=locked.booking,
            data={"kind": locked.kind, "amount": str(locked.amount)},
        )
    return locked


def expense_delete(expense: Expense, *, member: CrewMember) -> None:
    """Remove the member's own, not yet approved entry. One audit row."""
    with transaction.atomic():
        locked = Expense.objects.select_for_update().get(pk=expense.pk)
        if locked.member_id != member.pk:
            raise ExpenseRefused("You can only remove your own entries.")
        if locked.approved_at is not None:
            raise ExpenseRefused("This entry was approved; ask the office to change it.")
        audit_log(
            "crew.expense.deleted",
            locked,
            actor=member.user,
            booking=locked.booking,
            data={"kind": locked.kind, "amount": str(locked.amount)},
        )
        locked.delete()


def expense_approve(expense: Expense, *, actor: Any) -> bool:
    """Staff approve an entry: it counts from now on and the member can no longer edit it.

    Idempotent (an approved entry keeps its first approver); returns whether it changed.
    """
    with transaction.atomic():
        now = timezone.now()
        changed = Expense.objects.filter(pk=expense.pk, approved_at__isnull=True).update(
            approved_by=actor, approved_at=now
        )
        if changed:
            expense.approved_by, expense.approved_at = actor, now
            audit_log(
                "crew.expense.approved",
                expense,
                actor=actor,
                booking=expense.booking,
                data={"amount": str(expense.amount)},
            )
    return bool(changed)


# --- Money -----------------------------------------------------------------------------------


def tips_shares(expense: Expense) -> dict[int, Decimal]:
    """Who gets what of a tips entry: its split, or all of it to the member who logged it."""
    if expense.split:
        return {int(pk): Decimal(v) for pk, v in expense.split.items()}
    return {expense.member_id: expense.amount}


@dataclass
class MoneySummary:
    owner_payout: Decimal
    crew_pay: Decimal
    approved_expenses: Decimal
    pending_expenses: Decimal
    tips: Decimal

    @property
    def crew_cost(self) -> Decimal:
        return self.crew_pay + self.approved_expenses

    @property
    def margin(self) -> Decimal:
        """What is left of the owner payout after crew pay and approved expenses."""
        return self.owner_payout - self.crew_cost


def booking_money_summary(booking: Booking) -> MoneySummary:
    """Crew pay (crew not declined), approved and pending expenses, tips, owner payout."""
    pay = booking.assignments.exclude(response=CrewAssignment.Response.DECLINED).aggregate(
        total=Sum("pay")
    )["total"]
    tips, approved = Q(kind=Expense.Kind.TIPS), Q(approved_at__isnull=False)
    zero = Decimal("0.00")
    sums = Expense.objects.filter(booking=booking).aggregate(
        approved=Sum("amount", filter=~tips & approved, default=zero),
        pending=Sum("amount", filter=~tips & ~approved, default=zero),
        tips=Sum("amount", filter=tips, default=zero),
    )
    # SQLite sums decimals as floats: round back to cents.
    return MoneySummary(
        owner_payout=booking.owner_payout,
        crew_pay=Decimal(pay or zero).quantize(CENT),
        approved_expenses=Decimal(sums["approved"]).quantize(CENT),
        pending_expenses=Decimal(sums["pending"]).quantize(CENT),
        tips=Decimal(sums["tips"]).quantize(CENT),
    )


@dataclass
class CrewPayRow:
    member: str
    email: str
    charters: int = 0
    pay: Decimal = Decimal("0.00")
    mileage: Decimal = Decimal("0.00")
    supplies: Decimal = Decimal("0.00")
    other: Decimal = Decimal("0.00")
    tips: Decimal = Decimal("0.00")
    bookings: list[str] = field(default_factory=list)

    @property
    def reimbursements(self) -> Decimal:
        return self.mileage + self.supplies + self.other

    @property
    def total(self) -> Decimal:
        """Pay plus approved reimbursements; tips are reported but were paid by guests."""
        return self.pay + self.reimbursements


def _window(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def charters_between(start: date, end: date) -> QuerySet[Booking]:
    """Live charters starting on local dates ``start``..``end`` inclusive."""
    lo, hi = _window(start, end)
    return Booking.objects.filter(start__gte=lo, start__lt=hi, status__in=Booking.LIVE_STATUSES)


def crew_pay_rows(start: date, end: date) -> list[CrewPayRow]:
    """Per member, for charters starting in the date range: pay, approved expenses, tips.

    Three queries whatever the size of the range, each reading tuples or sums, never model
    instances: the assignments (member, reference, pay), the approved non-tip expenses
    summed per member and kind in SQL, the tips entries (their split is JSON); a fourth only
    when a tip is shared with a member who has nothing else in the range. Declined assignments are not paid; unapproved expenses are left out until staff
    approve them.
    """
    bookings = charters_between(start, end).values("pk")
    rows: dict[int, CrewPayRow] = {}

    def row(member_id: int, name: str, email: str) -> CrewPayRow:
        return rows.setdefault(member_id, CrewPayRow(member=name, email=email))

    assignments = (
        CrewAssignment.objects.filter(booking__in=bookings)
        .exclude(response=CrewAssignment.Response.DECLINED)
        .order_by("booking__start", "booking_id")
        .values_list(
            "member_id",
            "member__name",
            "member__email",
            "pay",
            "booking_id",
            "booking__external_id",
        )
    )
    for member_id, name, email, pay, booking_id, external_id in assignments:
        r = row(member_id, name, email)
        r.charters += 1
        r.pay += pay
        r.bookings.append(external_id or f"CO-{booking_id}")
    approved = Expense.objects.filter(booking__in=bookings, approved_at__isnull=False)
    sums = (
        approved.exclude(kind=Expense.Kind.TIPS)
        .order_by()
        .values_list("member_id", "member__name", "member__email", "kind")
        .annotate(total=Sum("amount"))
    )
    for member_id, name, email, kind, total in sums:
        r = row(member_id, name, email)
        # SQLite sums decimals as floats: round back to cents.
        setattr(r, kind, getattr(r, kind) + Decimal(total).quantize(CENT))
    tips = approved.filter(kind=Expense.Kind.TIPS).values_list("member_id", "amount", "split")
    shares = [
        tips_shares(Expense(member_id=member_id, amount=amount, split=split))
        for member_id, amount, split in tips
    ]
    # A share for a member with no pay or expense in the range (rare): one more query.
    missing = {pk for entry in shares for pk in entry} - set(rows)
    for pk, name, email in CrewMember.objects.filter(pk__in=missing).values_list(
        "pk", "name", "email"
    ):
        row(pk, name, email)
    for entry in shares:
        for pk, share in entry.items():
            if pk in rows:
                rows[pk].tips += share
    return sorted(rows.values(), key=lambda r: r.member.lower())


CSV_HEADER = [
    "member",
    "email",
    "charters",
    "pay",
    "mileage",
    "supplies",
    "other",
    "reimbursements",
    "total_due",
    "tips",
    "bookings",
]


def crew_pay_csv(start: date, end: date) -> str:
    """The crew pay summary as CSV text, one member per line, plus a totals line."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    totals = CrewPayRow(member="TOTAL", email="")
    for r in crew_pay_rows(start, end):
        writer.writerow(
            [
                r.member,
                r.email,
                r.charters,
                r.pay,
                r.mileage,
                r.supplies,
                r.other,
                r.reimbursements,
                r.total,
                r.tips,
                " ".join(r.bookings),
            ]
        )
        for name in ("charters", "pay", "mileage", "supplies", "other", "tips"):
            setattr(totals, name, getattr(totals, name) + getattr(r, name))
    writer.writerow(
        [
            "TOTAL",
            "",
            totals.charters,
            totals.pay,
            totals.mileage,
            totals.supplies,
            totals.other,
            totals.reimbursements,
            totals.total,
            totals.tips,
            "",
        ]
    )
    return out.getvalue()
