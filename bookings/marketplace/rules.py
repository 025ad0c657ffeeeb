"""The arithmetic of the marketplace rules: request expiry, owner penalty, no-shows, claims, payouts.

Pure functions of a booking, its source's rules and a clock. Windows given in hours or
minutes are elapsed time (72 h is 72 real hours, whatever the clocks do in between); windows
given in days or business days are counted on the company's calendar
(``settings.TIME_ZONE``): "within 7 days of the start" begins at the same wall-clock time 7
days before, across a daylight-saving change too. Business days are Monday to Friday (public
holidays are not known here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from ..models import Booking
from .models import BookingPayout, MarketplaceRules

#: Boatsetter's published values; the admin can change them (they are rows, not code).
BOATSETTER_DEFAULTS = {
    "request_expiry_hours": 72,
    "owner_cancel_window_days": 7,
    "owner_cancel_penalty_percent": Decimal("20"),
    "renter_late_minutes": 60,
    "owner_late_minutes": 30,
    "claim_deadline_hours": 48,
    "payout_min_business_days": 2,
    "payout_max_business_days": 3,
}
ATTENTION_HOURS = 12
REQUEST_STATUSES = (Booking.Status.INQUIRY, Booking.Status.PENDING)
CENT = Decimal("0.01")


def _utc(moment: datetime) -> datetime:
    """Elapsed-time arithmetic must be done in UTC: Python adds a timedelta to an aware
    datetime on its wall clock, so 30 minutes after 01:45 on the fall-back night would be
    02:15 PST, an hour and a half later."""
    return moment.astimezone(UTC)


def source_label(source: str) -> str:
    """A source's display name: the well-known ones by label, any other as stored."""
    try:
        return Booking.Source(source).label
    except ValueError:
        return source


def company_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def marketplace_rules_for(source: str) -> MarketplaceRules | None:
    """The rules of ``source``, or None when it has none (direct bookings)."""
    return MarketplaceRules.objects.filter(source=source).first()


def rules_by_source() -> dict[str, MarketplaceRules]:
    """Every source's rules in one query (list pages, filters)."""
    return {r.source: r for r in MarketplaceRules.objects.all()}


def source_relays_guest_messages(source: str) -> bool:
    """Whether ``source`` messages its guests itself (its bookings start with ours off)."""
    return MarketplaceRules.objects.filter(source=source, relays_guest_messages=True).exists()


def sources_relaying_guest_messages() -> list[str]:
    """Every source that messages its guests itself, in one query."""
    return list(
        MarketplaceRules.objects.filter(relays_guest_messages=True).values_list("source", flat=True)
    )


# --- Request expiry -------------------------------------------------------------------------


def request_expires_at(booking: Booking, rules: MarketplaceRules) -> datetime:
    """When an unanswered request expires: the marketplace's own deadline when it gave one
    (``respond_by``, from its request email), else its arrival plus the window (elapsed)."""
    if booking.respond_by is not None:
        return _utc(booking.respond_by)
    return _utc(booking.created_at) + timedelta(hours=rules.request_expiry_hours)


def request_time_left(
    booking: Booking, rules: MarketplaceRules, *, now: datetime | None = None
) -> timedelta | None:
    """Time left to answer an inquiry or pending request (never negative), else None."""
    if booking.status not in REQUEST_STATUSES:
        return None
    left = request_expires_at(booking, rules) - _utc(now or timezone.now())
    return max(left, timedelta(0))


def request_needs_attention(
    booking: Booking, rules: MarketplaceRules, *, now: datetime | None = None
) -> bool:
    """In the last 12 hours before the request expires (and not expired yet)."""
    left = request_time_left(booking, rules, now=now)
    return left is not None and timedelta(0) < left <= timedelta(hours=ATTENTION_HOURS)


# --- Owner cancellation ---------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerPenalty:
    """What the owner would pay for cancelling now."""

    applies: bool
    amount: Decimal
    window_starts_at: datetime
    percent: Decimal

    def __str__(self) -> str:
        local = timezone.localtime(self.window_starts_at)
        when = local.strftime("%a %b %-d, %-I:%M %p %Z")
        if self.applies:
            return (
                f"Owner penalty if cancelled now: ${self.amount} "
                f"({self.percent.normalize():f} % of the boat price; the window opened {when})."
            )
        return f"No owner penalty if cancelled before {when}."


def owner_cancel_window_starts_at(booking: Booking, rules: MarketplaceRules) -> datetime:
    """The same wall-clock time ``owner_cancel_window_days`` days before the start."""
    local_start = booking.start.astimezone(company_zone())
    # Counted on the wall clock: across a DST change this is 167 or 169 elapsed hours, as
    # the calendar says "7 days before".
    naive = local_start.replace(tzinfo=None) - timedelta(days=rules.owner_cancel_window_days)
    return timezone.make_aware(naive, company_zone())


def owner_cancel_penalty(
    booking: Booking, rules: MarketplaceRules, *, now: datetime | None = None
) -> OwnerPenalty:
    """The penalty for the owner cancelling at ``now``: inside the window (edge included)."""
    starts = owner_cancel_window_starts_at(booking, rules)
    percent = rules.owner_cancel_penalty_percent
    applies = _utc(now or timezone.now()) >= _utc(starts)
    amount = (booking.boat_price * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return OwnerPenalty(applies, amount if applies else Decimal("0.00"), starts, percent)


# --- No-shows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoShowThresholds:
    renter_late_at: datetime
    owner_late_at: datetime

    def __str__(self) -> str:
        def at(moment: datetime) -> str:
            return timezone.localtime(moment).strftime("%-I:%M %p")

        return (
            f"Boat and crew ready by {at(self.owner_late_at)} at the latest: later counts as "
            f"an owner cancellation. Guests not here by {at(self.renter_late_at)}: "
            "renter no-show, call the office before leaving."
        )


def no_show_thresholds(booking: Booking, rules: MarketplaceRules) -> NoShowThresholds:
    """When lateness turns into a cancellation, for the renter and for the owner (elapsed)."""
    return NoShowThresholds(
        renter_late_at=_utc(booking.start) + timedelta(minutes=rules.renter_late_minutes),
        owner_late_at=_utc(booking.start) + timedelta(minutes=rules.owner_late_minutes),
    )


# --- Claims ---------------------------------------------------------------------------------


def claim_deadline(
    booking: Booking, rules: MarketplaceRules, *, ended_at: datetime | None = None
) -> datetime:
    """When a damage claim is due: the trip's end plus the window (elapsed hours).

    The trip ends at the earlier of the scheduled end and the time back (``ended_at``), so
    the deadline shown is never later than the marketplace's.
    """
    end = min(_utc(booking.end), _utc(ended_at)) if ended_at else _utc(booking.end)
    return end + timedelta(hours=rules.claim_deadline_hours)


# --- Payouts --------------------------------------------------------------------------------


def add_business_days(day: date, count: int) -> date:
    """``day`` plus ``count`` business days (Monday to Friday)."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


@dataclass(frozen=True)
class PayoutExpectation:
    earliest: date
    latest: date
    status: str  # "not_due" | "expected" | "overdue" | "received" | "short"
    received: BookingPayout | None

    def __str__(self) -> str:
        window = f"{self.earliest:%a %b %-d}–{self.latest:%a %b %-d}"
        if self.received is not None:
            verdict = "received" if self.status == "received" else "SHORT"
            return (
                f"Payout {verdict}: ${self.received.amount} on {self.received.received_on:%b %-d}"
                f" (expected {window})."
            )
        if self.status == "overdue":
            return f"Payout OVERDUE: expected {window}."
        return f"Payout expected {window}."


def payout_expected(
    booking: Booking,
    rules: MarketplaceRules,
    *,
    received: BookingPayout | None = None,
    today: date | None = None,
) -> PayoutExpectation:
    """The expected payout dates of a completed trip and where the payout stands.

    Short means less than the booking's expected owner payout was received.
    """
    end_day = booking.end.astimezone(company_zone()).date()
    earliest = add_business_days(end_day, rules.payout_min_business_days)
    latest = add_business_days(end_day, rules.payout_max_business_days)
    today = today or timezone.localdate()
    if received is not None:
        status = "short" if received.amount < booking.owner_payout else "received"
    elif booking.status != Booking.Status.COMPLETED:
        status = "not_due"
    else:
        status = "overdue" if today > latest else "expected"
    return PayoutExpectation(earliest, latest, status, received)


def payout_overdue_cutoff(rules: MarketplaceRules, *, today: date | None = None) -> datetime:
    """Trips ending before this instant have a payout overdue today (none received).

    The latest trip day D with ``add_business_days(D, max) < today``; since the expected
    date only grows with D, everything ending before midnight after D is overdue.
    """
    today = today or timezone.localdate()
    day = today
    while add_business_days(day, rules.payout_max_business_days) >= today:
        day -= timedelta(days=1)
    midnight = datetime.combine(day + timedelta(days=1), datetime.min.time())
    return timezone.make_aware(midnight, company_zone())


def format_time_left(left: timedelta) -> str:
    """'2 d 5 h', '11 h 40 min', '35 min', 'expired'."""
    minutes = int(left.total_seconds() // 60)
    if minutes <= 0:
        return "expired"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"
