"""Admin surfaces of boat double booking: the list's badge and filter, the page's warning,
and the booking form's question before staff save a charter over another."""

from __future__ import annotations

from django import forms
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


#: the fields whose change can make a booking overlap another of its boat
OVERLAP_FIELDS = {"boat", "start", "end", "status"}
#: the form's confirmation box, shown only once there is something to confirm
SAVE_DESPITE_OVERLAP = "save_despite_overlap"


def _overlap_line(other: Booking) -> str:
    start, end = timezone.localtime(other.start), timezone.localtime(other.end)
    return f"{other.reference} ({other.guest_name}), {start:%a %b %-d %H:%M}–{end:%H:%M}"


class BookingDoubleBookingForm(forms.ModelForm):
    """Staff entry warns before saving: a new or moved live booking that overlaps another live
    booking of its boat is refused once, naming the overlaps, and saved when staff tick
    *Save anyway* (intake never asks: a marketplace booking is a fact to handle)."""

    save_despite_overlap = forms.BooleanField(
        required=False,
        label="Save anyway",
        help_text="The boat is booked at that time; tick to save this charter over it.",
    )

    def clean(self):
        data = super().clean()
        if self.instance.pk and not OVERLAP_FIELDS & set(self.changed_data):
            return data  # nothing that places the charter changed: no new question
        boat, start, end = data.get("boat"), data.get("start"), data.get("end")
        status = data.get("status") or self.instance.status
        if not (boat and start and end) or end <= start:
            return data
        candidate = Booking(pk=self.instance.pk, boat=boat, start=start, end=end, status=status)
        overlaps = list(booking_overlaps(candidate)[:6])
        if overlaps and not data.get(SAVE_DESPITE_OVERLAP):
            listed = "; ".join(_overlap_line(other) for other in overlaps[:5])
            more = " and more" if len(overlaps) > 5 else ""
            self.add_error(
                SAVE_DESPITE_OVERLAP,
                f"{boat} is already booked then: {listed}{more}. Tick Save anyway to save "
                "this charter over it, or change its boat or time.",
            )
        return data
