"""Boats and bookings, the marketplace's deliveries, API tokens and the local calendar."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from charterops.phones import PhoneNumberField

from .fields import MaintainedTextField

MONEY = {"max_digits": 10, "decimal_places": 2, "default": Decimal("0.00")}


class Boat(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    external_id = models.CharField(
        max_length=64, blank=True, help_text="The boat's id on the marketplace (e.g. Boatsetter)."
    )
    home_marina = models.CharField(max_length=200, blank=True)
    capacity = models.PositiveSmallIntegerField(help_text="Guests the boat may carry.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity__gte=1),
                name="boat_capacity_positive",
                violation_error_message="A boat must carry at least one guest.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Booking(models.Model):
    class Source(models.TextChoices):
        """Well-known sources; any configured one is stored as is (bookings.intake.sources)."""

        BOATSETTER = "boatsetter", "Boatsetter"
        DIRECT = "direct", "Direct"
        GETMYBOAT = "getmyboat", "GetMyBoat"
        SCC = "scc", "SCC API"
        OTHER = "other", "Other (legacy)"

    class Status(models.TextChoices):
        INQUIRY = "inquiry", "Inquiry"
        PENDING = "pending", "Pending (payment held)"
        CONFIRMED = "confirmed", "Confirmed"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    #: statuses whose bookings fan out to the targets; cancelled/expired unwind them.
    LIVE_STATUSES = (Status.CONFIRMED, Status.IN_PROGRESS, Status.COMPLETED)
    ENDED_STATUSES = (Status.CANCELLED, Status.EXPIRED)
    #: fields whose change is "material": it bumps the version and re-syncs the targets.
    MATERIAL_FIELDS = (
        "status",
        "boat_id",
        "start",
        "end",
        "meeting_point",
        "guest_name",
        "guest_email",
        "guest_phone",
        "party_size",
        "captain_required",
        "special_requests",
    )

    source = models.CharField(
        max_length=20,
        default=Source.DIRECT,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9_-]{0,19}$", "A lowercase source name.")],
        help_text="Where the booking came from; with the external id, what identifies it.",
    )
    external_id = models.CharField(
        max_length=64, blank=True, help_text="The booking's id at its source, e.g. BS-4821937."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONFIRMED)
    boat = models.ForeignKey(Boat, on_delete=models.PROTECT, related_name="bookings")
    start = models.DateTimeField()
    end = models.DateTimeField()
    meeting_point = models.CharField(max_length=300, blank=True)
    guest_name = models.CharField(max_length=200)
    guest_email = models.EmailField(blank=True)
    guest_phone = PhoneNumberField(max_length=40, blank=True)  # E.164 (charterops/phones.py)
    party_size = models.PositiveSmallIntegerField(default=1)
    captain_required = models.BooleanField(default=True)
    special_requests = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="USD")
    boat_price = models.DecimalField(**MONEY)
    service_fee = models.DecimalField(**MONEY)
    captain_fee = models.DecimalField(**MONEY)
    owner_payout = models.DecimalField(**MONEY)
    respond_by = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "The marketplace's deadline to answer this request, when it gave one (the "
            "request emails' \"Respond by\"); else the rules' window from its arrival applies."
        ),
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    last_event_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="occurred_at of the last marketplace event applied (older ones are stale).",
    )
    double_booked = models.BooleanField(
        default=False,
        editable=False,
        help_text="Live, and overlapping another live booking of the same boat.",
    )
    last_event_id = models.CharField(
        max_length=120,
        blank=True,
        editable=False,
        help_text="Id of the last event applied: orders events of the same instant.",
    )
    crew_names = MaintainedTextField(
        blank=True,
        default="",
        db_default="",
        editable=False,
        help_text="The crew's names, for search; kept by crew (``bookings.search``).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="booking_unique_external_id",
                violation_error_message="A booking with this source and external id exists.",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="booking_end_after_start",
                violation_error_message="The charter must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(party_size__gte=1),
                name="booking_party_size_positive",
                violation_error_message="The party must have at least one guest.",
            ),
        ]
        indexes = [
            models.Index(fields=["start"], name="booking_start"),
            models.Index(fields=["status", "start"], name="booking_status_start"),
            # the list sorted by guest reads this, then sorts each name's few rows by start
            models.Index(fields=["guest_name"], name="booking_guest_name"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} · {self.guest_name}"

    @property
    def reference(self) -> str:
        return self.external_id or f"CO-{self.pk or 'new'}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    @property
    def is_ended(self) -> bool:
        return self.status in self.ENDED_STATUSES

    @property
    def local_start(self):
        return timezone.localtime(self.start)

    @property
    def local_end(self):
        return timezone.localtime(self.end)

    @staticmethod
    def capacity_message(boat: str, capacity: int, party_size: int) -> str:
        return f"{boat} carries at most {capacity} guests; this party has {party_size}."

    def clean(self) -> None:
        """The rules a person can fix, checked in Python; the database constraints back them up."""
        super().clean()
        errors: dict[str, str] = {}
        if self.start and self.end and self.end <= self.start:
            errors["end"] = "The charter must end after it starts."
        if self.party_size is not None and self.party_size < 1:
            errors["party_size"] = "The party must have at least one guest."
        elif self.boat_id and self.party_size and self.party_size > self.boat.capacity:
            errors["party_size"] = self.capacity_message(
                str(self.boat), self.boat.capacity, self.party_size
            )
        if errors:
            raise ValidationError(errors)


class WebhookDelivery(models.Model):
    """One raw marketplace delivery, stored before anything is applied so nothing is lost.

    A delivery that passes the webhook's checks is stored ``queued`` and holds its event's
    dedupe key (``holds_event_key``): the partial unique constraint lets exactly one delivery
    per (source, event id) hold it, so a second copy, even one racing the first on another
    connection, is stored as a ``duplicate``. A worker then applies queued deliveries
    (``bookings.deliveries``) and records the outcome here.
    """

    class Outcome(models.TextChoices):
        RECEIVED = "received", "Received"
        QUEUED = "queued", "Queued"
        ACCEPTED = "accepted", "Applied"
        DUPLICATE = "duplicate", "Duplicate"
        STALE = "stale", "Stale"
        IGNORED = "ignored", "Ignored"
        BAD_SIGNATURE = "bad_signature", "Bad signature"
        INVALID = "invalid", "Invalid"
        ERROR = "error", "Error"

    source = models.CharField(max_length=40)
    event_id = models.CharField(max_length=120, blank=True)
    event_type = models.CharField(max_length=60, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    body = models.TextField()
    headers = models.JSONField(default=dict)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RECEIVED)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    holds_event_key = models.BooleanField(
        null=True,
        editable=False,
        help_text="This delivery is the one copy of its event that is (or will be) applied.",
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker failed to apply it."
    )
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["source", "event_id"], name="webhook_delivery_event"),
            # The workers' queue: small however long the history grows.
            models.Index(
                fields=["id"], condition=Q(outcome="queued"), name="webhook_delivery_queued"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "event_id"],
                condition=Q(holds_event_key=True),
                name="webhook_delivery_event_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.event_id or '-'} ({self.outcome})"


class ApiToken(models.Model):
    """A token for internal tools (X-Dashboard-Token); only its SHA-256 is kept."""

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=8, editable=False, help_text="First characters, to tell tokens apart."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


# Sub-packages' models, imported so Django registers them: inbound marketplace email
# (bookings/intake/mail/), the marketplaces' rules, the calendar (bookings/calendar/) and
# photos (bookings/photos/).
from .calendar.models import CalendarDrift, CalendarEntry, CalendarFeedToken  # noqa: E402, F401
from .intake.mail.models import InboundEmail  # noqa: E402, F401
from .marketplace.models import BookingPayout, MarketplaceRules  # noqa: E402, F401
from .photos.models import Photo, PhotoGrant  # noqa: E402, F401
