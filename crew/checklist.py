"""The checklist target: a confirmed charter gets its checklist copied from the boat's template."""

from __future__ import annotations

from bookings.models import Booking
from charterops.fanout.targets import SyncResult

from .models import ChecklistItem, ChecklistTemplate


def checklist_template_for(booking: Booking) -> ChecklistTemplate | None:
    """The boat's own template, else the default one (no boat)."""
    return (
        ChecklistTemplate.objects.filter(boat=booking.boat_id).first()
        or ChecklistTemplate.objects.filter(boat__isnull=True).order_by("pk").first()
    )


def checklist_scaffold(booking: Booking) -> int:
    """Copy template items the booking does not have yet. Idempotent; returns how many were added."""
    template = checklist_template_for(booking)
    if template is None:
        return 0
    have = set(
        ChecklistItem.objects.filter(booking=booking).values_list("template_item_id", flat=True)
    )
    new = [
        ChecklistItem(
            booking=booking,
            template_item=item,
            phase=item.phase,
            text=item.text,
            required=item.required,
            position=item.position,
        )
        for item in template.items.all()
        if item.pk not in have
    ]
    ChecklistItem.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


class ChecklistTarget:
    """Scaffolds the checklist of live bookings; ticks already made are kept on cancellation."""

    name = "checklist"

    def sync(self, booking: Booking, *, state) -> SyncResult:
        if not booking.is_live:
            return SyncResult(skipped=True)
        added = checklist_scaffold(booking)
        total = ChecklistItem.objects.filter(booking=booking).count()
        return SyncResult(external_ref=f"{total} items", detail={"added": added})
