"""Models of the departure and return record (they belong to the ``crew`` app).

``crew/models.py`` imports them in one line so Django registers them; migrations live in
``crew/migrations``.
"""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from bookings.models import Boat, Booking

READING = {"max_digits": 9, "decimal_places": 1}


def validate_time_zone(value: str) -> None:
    """An IANA time zone name, such as America/Los_Angeles."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a time zone, e.g. America/Los_Angeles.") from None


class BoatUpkeep(models.Model):
    """What the record needs to know about a boat: its time zone, tank units, service interval."""

    class FuelUnit(models.TextChoices):
        PERCENT = "percent", "Percent of the tank"
        GALLONS = "gallons", "Gallons"

    boat = models.OneToOneField(Boat, on_delete=models.CASCADE, related_name="upkeep")
    time_zone = models.CharField(
        max_length=64, default="America/Los_Angeles", validators=[validate_time_zone]
    )
    fuel_unit = models.CharField(max_length=10, choices=FuelUnit.choices, default=FuelUnit.PERCENT)
    tank_capacity = models.DecimalField(
        **READING,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.1"))],
        help_text="Gallons the tank holds (needed when fuel is logged in gallons).",
    )
    service_interval_hours = models.DecimalField(
        **READING,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("1"))],
        help_text="Engine hours between services; staff are warned when a reading crosses one.",
    )
    last_service_engine_hours = models.DecimalField(
        **READING, default=Decimal("0"), help_text="Engine hours at the last service."
    )

    class Meta:
        verbose_name = "boat upkeep"
        verbose_name_plural = "boat upkeep"

    def __str__(self) -> str:
        return f"upkeep of {self.boat}"

    @property
    def fuel_max(self) -> Decimal:
        if self.fuel_unit == self.FuelUnit.GALLONS and self.tank_capacity:
            return self.tank_capacity
        return Decimal("100")

    @property
    def fuel_suffix(self) -> str:
        return " gal" if self.fuel_unit == self.FuelUnit.GALLONS else " %"


class VoyageRecord(models.Model):
    """One charter's departure and return: readings, headcount, orientation, condition, damage.

    Times are the server's (UTC in the database), never the phone's.
    """

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="voyage")
    boat = models.ForeignKey(Boat, on_delete=models.PROTECT, related_name="voyages")
    # Departure
    departed_at = models.DateTimeField(null=True, blank=True)
    departed_by = models.ForeignKey(
        "crew.CrewMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fuel_out = models.DecimalField(**READING, null=True, blank=True)
    engine_hours_out = models.DecimalField(**READING, null=True, blank=True)
    headcount = models.PositiveSmallIntegerField(null=True, blank=True)
    headcount_expected = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The manifest's count, or the party size without one."
    )
    orientation_given = models.BooleanField(default=False)
    condition_out = models.TextField(blank=True)
    # Return
    returned_at = models.DateTimeField(null=True, blank=True, help_text="Time back (server).")
    returned_by = models.ForeignKey(
        "crew.CrewMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fuel_in = models.DecimalField(**READING, null=True, blank=True)
    engine_hours_in = models.DecimalField(**READING, null=True, blank=True)
    condition_in = models.TextField(blank=True)
    damage = models.BooleanField(default=False)
    damage_notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-departed_at"]
        indexes = [models.Index(fields=["boat", "departed_at"], name="voyage_boat_departed")]
        constraints = [
            models.CheckConstraint(
                condition=Q(engine_hours_in__isnull=True)
                | Q(engine_hours_out__isnull=True)
                | Q(engine_hours_in__gte=models.F("engine_hours_out")),
                name="voyage_engine_hours_not_down",
                violation_error_message="Engine hours at return cannot be below departure.",
            ),
            models.CheckConstraint(
                condition=Q(orientation_given=True) | Q(departed_at__isnull=True),
                name="voyage_departure_needs_orientation",
                violation_error_message="The safety orientation must be given before departure.",
            ),
        ]

    def __str__(self) -> str:
        return f"record of {self.booking}"

    @property
    def departed(self) -> bool:
        return self.departed_at is not None

    @property
    def returned(self) -> bool:
        return self.returned_at is not None


class VoyagePhoto(models.Model):
    """A crew photo tagged as part of the departure or the return."""

    class Stage(models.TextChoices):
        DEPARTURE = "departure", "Departure"
        RETURN = "return", "Return"

    record = models.ForeignKey(VoyageRecord, on_delete=models.CASCADE, related_name="photos")
    photo = models.OneToOneField(
        "bookings.Photo", on_delete=models.CASCADE, related_name="voyage_tag"
    )
    stage = models.CharField(max_length=10, choices=Stage.choices)

    class Meta:
        ordering = ["record_id", "photo__uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} photo {self.photo_id}"


class VoyageDocument(models.Model):
    """One rendered version of a charter's record PDF; corrections add versions, never replace.

    The row is written with the record's change; a task renders the file (idempotent: the key
    is fixed per version) and, when damage is reported, emails operations once under a claim.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Rendered"
        FAILED = "failed", "Failed"

    class Mail(models.TextChoices):
        NONE = "", "Not needed"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    record = models.ForeignKey(VoyageRecord, on_delete=models.CASCADE, related_name="documents")
    version = models.PositiveIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    key = models.CharField(max_length=500, blank=True)
    size = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    mail_status = models.CharField(max_length=10, choices=Mail.choices, blank=True, default="")
    mailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["record_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["record", "version"], name="voyage_document_version"),
        ]

    def __str__(self) -> str:
        return f"record v{self.version} of booking {self.record.booking_id}"
