"""Crew members, their assignments to charters, checklists, expenses, notifications."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from bookings.models import MONEY, Boat, Booking
from charterops.outbox import OutboxMessage
from charterops.phones import PhoneNumberField


class Role(models.TextChoices):
    CAPTAIN = "captain", "Captain"
    FIRST_MATE = "first_mate", "First mate"
    DECKHAND = "deckhand", "Deckhand"
    STEWARD = "steward", "Steward"


class CrewMember(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crew_member"
    )
    name = models.CharField(max_length=150)
    email = models.EmailField()
    phone = PhoneNumberField(max_length=40, blank=True, help_text="E.164, e.g. +16195550100")
    roles = models.JSONField(default=list, blank=True, help_text="Roles this member can take.")
    notify_by = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    email_flagged = models.CharField(
        max_length=200, blank=True, help_text="Set when mail to this address bounced or complained."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CrewAssignment(models.Model):
    class Response(models.TextChoices):
        INVITED = "invited", "Invited"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="assignments")
    member = models.ForeignKey(CrewMember, on_delete=models.PROTECT, related_name="assignments")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.DECKHAND)
    pay = models.DecimalField(**MONEY)
    response = models.CharField(max_length=10, choices=Response.choices, default=Response.INVITED)
    responded_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when the member was still silent close to the charter.",
    )
    link_generation = models.PositiveIntegerField(
        default=0, editable=False, help_text="Bumped to revoke this member's links to this charter."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booking_id", "role", "member__name"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "member"], name="assignment_unique_member"),
            models.CheckConstraint(
                condition=Q(pay__gte=0),
                name="assignment_pay_not_negative",
                violation_error_message="Pay cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} as {self.get_role_display()} on {self.booking_id}"


class ChecklistTemplate(models.Model):
    """The checklist a boat's charters start from; the one without a boat is the default."""

    name = models.CharField(max_length=120)
    boat = models.OneToOneField(
        Boat, null=True, blank=True, on_delete=models.CASCADE, related_name="checklist_template"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Phase(models.TextChoices):
    PRE = "pre", "Pre-charter"
    POST = "post", "Post-charter"


class ChecklistTemplateItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    phase = models.CharField(max_length=4, choices=Phase.choices, default=Phase.PRE)
    text = models.CharField(max_length=200)
    required = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["template_id", "-phase", "position", "id"]  # pre- before post-charter

    def __str__(self) -> str:
        return self.text


class ChecklistItem(models.Model):
    """One item of one charter's checklist, copied from the template when the booking is confirmed."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="checklist_items")
    template_item = models.ForeignKey(
        ChecklistTemplateItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phase = models.CharField(max_length=4, choices=Phase.choices, default=Phase.PRE)
    text = models.CharField(max_length=200)
    required = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    done_by = models.ForeignKey(
        CrewMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    #: a readiness check (``charterops.readiness``) that ticks this item itself; "" = by hand
    auto_key = models.CharField(max_length=40, blank=True, default="", editable=False)

    class Meta:
        ordering = ["booking_id", "-phase", "position", "id"]  # pre- before post-charter
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "template_item"],
                condition=Q(template_item__isnull=False),
                name="checklist_item_once_per_template_item",
            ),
            models.UniqueConstraint(
                fields=["booking", "auto_key"],
                condition=~Q(auto_key=""),
                name="checklist_item_once_per_auto_key",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def done(self) -> bool:
        return self.done_at is not None


class Expense(models.Model):
    class Kind(models.TextChoices):
        MILEAGE = "mileage", "Mileage"
        SUPPLIES = "supplies", "Supplies"
        TIPS = "tips", "Tips received"
        OTHER = "other", "Other"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="expenses")
    member = models.ForeignKey(CrewMember, on_delete=models.PROTECT, related_name="expenses")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    miles = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    receipt_key = models.CharField(max_length=500, blank=True)
    split = models.JSONField(
        default=dict,
        blank=True,
        help_text="Tips only: how the amount is shared, {crew member id: amount}.",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booking_id", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0")),
                name="expense_amount_not_negative",
                violation_error_message="An amount cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} by {self.member}"


class Notification(OutboxMessage):
    """A message to one crew member about one version of a booking, recorded before it is sent.

    An outbox row (``charterops.outbox``): queued → sending → sent, superseded, retrying or
    failed. ``round`` tells apart messages of the same kind and version that happen more than
    once (a "new link" per revocation: the assignment's link generation).
    """

    class Kind(models.TextChoices):
        NEW = "new", "New charter"
        CHANGED = "changed", "Changed charter"
        REMOVED = "removed", "Removed from charter"
        CANCELLED = "cancelled", "Cancelled charter"
        REMINDER = "reminder", "Reminder"
        RESPONSE_REMINDER = "response_reminder", "Please respond"
        NEW_LINK = "new_link", "New link"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="notifications")
    member = models.ForeignKey(CrewMember, on_delete=models.CASCADE, related_name="notifications")
    booking_version = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    round = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=10, choices=CrewMember.Channel.choices)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "member", "booking_version", "kind", "round"],
                name="notification_once_per_version_kind_round",
            ),
        ]
        indexes = [
            # the admin list's order (newest first; the changelist adds -pk): read, not sorted
            models.Index(fields=["created_at", "id"], name="notification_created"),
            models.Index(
                fields=["booking", "member"],
                name="notification_unsettled",
                condition=Q(status__in=["queued", "sending", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.member} (v{self.booking_version})"


class StaffNotice(OutboxMessage):
    """One message to one staff address about one crew event (a decline, a member silent close
    to the charter, a notification failed for good). ``event`` names the event, so a
    redelivered or repeated check records nothing new."""

    class Kind(models.TextChoices):
        DECLINED = "declined", "Crew declined"
        SILENT = "silent", "Crew silent close to the charter"
        NOTIFICATION_FAILED = "notification_failed", "Crew message failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    event = models.CharField(max_length=100, help_text="What happened, once: kind:object:when.")
    recipient = models.EmailField()
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.CASCADE, related_name="staff_notices"
    )
    member = models.ForeignKey(
        CrewMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient"], name="staff_notice_once"),
        ]
        permissions = [
            ("receive_staffnotice", "Receives crew staff notices by email (Operations staff)"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient}"


# The departure and return record lives in its own sub-package; imported so Django registers it.
from .voyage.models import BoatUpkeep, VoyageDocument, VoyagePhoto, VoyageRecord  # noqa: E402, F401
