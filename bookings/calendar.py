"""The calendar target: the booking as an event in the company calendar (embedded: a local row)."""

from __future__ import annotations

from django.utils import timezone

from charterops.fanout.targets import SyncResult

from .models import Booking, CalendarEntry


def calendar_event_summary(booking: Booking) -> str:
    """The seed's title: booking id, guest name and local charter time."""
    start, end = timezone.localtime(booking.start), timezone.localtime(booking.end)
    return f"{booking.reference} · {booking.guest_name} · {start:%H:%M}–{end:%H:%M}"


class CalendarTarget:
    """Keeps a CalendarEntry per booking; the iCalendar feed publishes them. Idempotent."""

    name = "calendar"

    def sync(self, booking: Booking, *, state) -> SyncResult:
        uid = f"booking-{booking.pk}@charterops"
        values = {
            "summary": calendar_event_summary(booking),
            "description": f"{booking.boat} · {booking.meeting_point} · party of {booking.party_size}",
            "start": booking.start,
            "end": booking.end,
            "cancelled": not booking.is_live,
        }
        entry = CalendarEntry.objects.filter(booking=booking).first()
        if entry is None:
            if not booking.is_live:
                return SyncResult(skipped=True)
            entry = CalendarEntry.objects.create(booking=booking, uid=uid, **values)
        elif any(getattr(entry, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(entry, k, v)
            entry.sequence += 1
            entry.save()
        return SyncResult(external_ref=entry.uid, detail={"sequence": entry.sequence})
