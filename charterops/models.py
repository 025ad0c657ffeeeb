"""Audit trail and fan-out state rows, shared by every app."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AuditEvent(models.Model):
    """One row per state change: a dotted action name, who did it, on what, with what."""

    class ActorKind(models.TextChoices):
        USER = "user", "User"
        SOURCE = "source", "Source"
        SYSTEM = "system", "System"

    action = models.CharField(max_length=100, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_kind = models.CharField(
        max_length=10, choices=ActorKind.choices, default=ActorKind.SYSTEM, editable=False
    )
    actor_label = models.CharField(max_length=150, default="system")
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(max_length=200, blank=True)
    booking = models.ForeignKey(
        "bookings.Booking",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit event"

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr} by {self.actor_label}"


class TargetState(models.Model):
    """Where one booking stands on one fan-out target: desired vs synced version and the outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        RETRYING = "retrying", "Retrying"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    booking = models.ForeignKey(
        "bookings.Booking", on_delete=models.CASCADE, related_name="target_states"
    )
    target = models.CharField(max_length=32)
    desired_version = models.PositiveIntegerField(default=0)
    synced_version = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    error_detail = models.TextField(blank=True)
    external_ref = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["booking_id", "target"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "target"], name="targetstate_unique"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="targetstate_due",
                condition=Q(status__in=["pending", "retrying", "running"]),
            ),
            models.Index(fields=["status"], name="targetstate_status"),
        ]
        verbose_name = "fan-out target"

    def __str__(self) -> str:
        return f"{self.booking_id}/{self.target}: {self.status}"

    @property
    def is_stale(self) -> bool:
        return self.synced_version < self.desired_version
