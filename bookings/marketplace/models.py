"""Models of the marketplace rules (they belong to the ``bookings`` app).

``bookings/models.py`` imports them in one line so Django registers them.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

MONEY = {"max_digits": 10, "decimal_places": 2}


class MarketplaceRules(models.Model):
    """One source's rules; Boatsetter's current values are the defaults."""

    source = models.CharField(max_length=20, unique=True, help_text="The booking source.")
    request_expiry_hours = models.PositiveIntegerField(
        default=72, help_text="A booking request expires this long after it arrives."
    )
    owner_cancel_window_days = models.PositiveIntegerField(
        default=7, help_text="An owner cancelling within this many days of the start pays..."
    )
    owner_cancel_penalty_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("20"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="...this percentage of the boat price.",
    )
    renter_late_minutes = models.PositiveIntegerField(
        default=60, help_text="A renter later than this counts as a renter cancellation."
    )
    owner_late_minutes = models.PositiveIntegerField(
        default=30, help_text="An owner later than this counts as an owner cancellation."
    )
    claim_deadline_hours = models.PositiveIntegerField(
        default=48, help_text="Damage claims are due this long after the trip ends."
    )
    payout_min_business_days = models.PositiveIntegerField(
        default=2, help_text="The payout arrives at the earliest this many business days after."
    )
    payout_max_business_days = models.PositiveIntegerField(
        default=3, help_text="...and at the latest this many (later is overdue)."
    )
    relays_guest_messages = models.BooleanField(
        "messages its guests itself",
        default=False,
        help_text=(
            "The marketplace relays its own confirmations and notices, so its bookings start "
            "with our guest messages off (staff can still switch one booking on)."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source"]
        verbose_name = "marketplace rules"
        verbose_name_plural = "marketplace rules"

    def __str__(self) -> str:
        return f"{self.source} rules"


class BookingPayout(models.Model):
    """The owner payout the marketplace actually paid for a booking, as staff recorded it."""

    booking = models.OneToOneField(
        "bookings.Booking", on_delete=models.CASCADE, related_name="payout_received"
    )
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    received_on = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "payout received"
        verbose_name_plural = "payout received"

    def __str__(self) -> str:
        return f"{self.amount} received {self.received_on}"
