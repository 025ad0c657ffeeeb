"""Models of the calendar target (they belong to the ``bookings`` app, tables unchanged).

``bookings/models.py`` imports them in one line so Django registers them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class CalendarEntry(models.Model):
    """The embedded calendar: one event per booking, published as an iCalendar feed."""

    booking = models.OneToOneField(
        "bookings.Booking", on_delete=models.CASCADE, related_name="calendar_entry"
    )
    uid = models.CharField(max_length=200, unique=True)
    summary = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    all_day = models.BooleanField(default=False)
    sequence = models.PositiveIntegerField(default=0)
    cancelled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start"]
        verbose_name_plural = "calendar entries"

    def __str__(self) -> str:
        return self.summary


class CalendarFeedToken(models.Model):
    """A revocable secret in the URL of an iCalendar feed, issued to a staff member or per boat."""

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    boat = models.ForeignKey(
        "bookings.Boat", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        who = self.user or "everyone"
        return f"feed for {who}" + (f" / {self.boat}" if self.boat_id else "")


class CalendarDrift(models.Model):
    """A difference between the bookings and the calendar, found by ``calendar_reconcile``.

    The latest run's findings are the open ones (``fixed_at`` empty); a run replaces them.
    """

    class Kind(models.TextChoices):
        MISSING = "missing", "Missing (booking has no event)"
        STALE = "stale", "Stale (time or title differs)"
        ORPHAN = "orphan", "Orphan (event of no live booking)"
        DUPLICATE = "duplicate", "Duplicate (second event of a booking)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    backend = models.CharField(max_length=20)
    booking = models.ForeignKey(
        "bookings.Booking", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event_id = models.CharField(max_length=1024, blank=True)
    message = models.CharField(max_length=500)
    found_at = models.DateTimeField(default=timezone.now, db_index=True)
    fixed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-found_at", "kind", "id"]
        verbose_name = "calendar drift finding"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}"
