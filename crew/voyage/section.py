"""What the crew page's record section shows: the record so far, its forms, the clock rules."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from bookings.marketplace.rules import marketplace_rules_for, no_show_thresholds

from ..models import CrewAssignment
from .forms import DepartureForm, ReturnForm
from .models import BoatUpkeep, VoyagePhoto, VoyageRecord
from .records import DEFAULT_ZONE, voyage_expected_headcount


def _initial(record: VoyageRecord | None, fields: list[str]) -> dict[str, Any]:
    if record is None:
        return {}
    initial = {}
    for name in fields:
        value = getattr(record, name)
        if name == "damage":
            value = "yes" if value else "no"
        elif value is not None and hasattr(value, "normalize"):
            value = f"{value.normalize():f}"
        initial[name] = value
    return initial


def voyage_section_context(assignment: CrewAssignment) -> dict[str, Any]:
    """The record section's context for the member's charter page. Three queries, whatever the size."""
    booking = assignment.booking
    record = (
        VoyageRecord.objects.filter(booking=booking)
        .select_related("departed_by", "returned_by")
        .annotate(
            departure_photos=Count("photos", filter=Q(photos__stage=VoyagePhoto.Stage.DEPARTURE)),
            return_photos=Count("photos", filter=Q(photos__stage=VoyagePhoto.Stage.RETURN)),
        )
        .first()
    )
    upkeep = BoatUpkeep.objects.filter(boat=booking.boat_id).first() or BoatUpkeep()
    departure_initial = _initial(
        record, ["fuel_out", "engine_hours_out", "headcount", "orientation_given", "condition_out"]
    )
    if not departure_initial:
        departure_initial = {"headcount": voyage_expected_headcount(booking)}
    rules = marketplace_rules_for(booking.source)
    return {
        "rules_text": str(no_show_thresholds(booking, rules)) if rules else "",
        "voyage": record,
        "voyage_zone": upkeep.time_zone or DEFAULT_ZONE,
        "fuel_unit": "gallons" if upkeep.fuel_unit == BoatUpkeep.FuelUnit.GALLONS else "%",
        "fuel_max": f"{upkeep.fuel_max.normalize():f}",
        "expected_headcount": voyage_expected_headcount(booking),
        "departure_form": DepartureForm(initial=departure_initial),
        "return_form": ReturnForm(
            initial=_initial(
                record, ["fuel_in", "engine_hours_in", "condition_in", "damage", "damage_notes"]
            )
            if record and record.returned
            else {"damage": "no"}
        ),
    }
