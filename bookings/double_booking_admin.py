"""Admin surfaces of boat double booking: the list's badge and filter, the page's warning."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from .double_booking import booking_overlaps
from .models import Booking


class DoubleBookedFilter(admin.SimpleListFilter):
    """The double-booking part of the attention list: live bookings that overlap another."""

    title = "boat double-booked"
    parameter_name = "double_booked"

    def lookups(self, request, model_admin):
        return [("yes", "Overlaps another booking of its boat")]

    def queryset(self, request, queryset):
        return queryset.filter(double_booked=True) if self.value() == "yes" else queryset


def double_booked_badge(booking: Booking) -> str:
    """The booking's reference, with a badge when its boat is double-booked (no query)."""
    if not booking.double_booked:
        return booking.reference
    return format_html(
        '{} <span class="co-pill co-failed" title="{}">double-booked</span>',
        booking.reference,
        "Its boat has another live booking at the same time",
    )


def double_booked_warn(request: HttpRequest, booking: Booking) -> int:
    """One admin warning per booking this one overlaps; returns how many."""
    overlaps = list(booking_overlaps(booking)) if booking.double_booked else []
    for other in overlaps:
        messages.warning(
            request,
            f"{booking.boat} is double-booked: {other.reference} ({other.guest_name}) "
            f"overlaps this charter, {timezone.localtime(other.start):%a %b %-d %H:%M}–"
            f"{timezone.localtime(other.end):%H:%M}.",
        )
    return len(overlaps)
