"""The raw store of inbound marketplace email (a model of the ``bookings`` app).

``bookings/models.py`` imports it in one line so Django registers it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class InboundEmail(models.Model):
    """One inbound message, stored raw before anything else, and what became of it.

    A message is stored once: a second copy (same Message-ID, same content) only counts
    ``times_seen``. Its parse is a *proposal* staff apply or dismiss (``proposals``).
    """

    class Via(models.TextChoices):
        SES = "ses", "Amazon SES inbound"
        IMAP = "imap", "IMAP mailbox"
        IMPORT = "import", "Imported file"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received (not read yet)"
        UNPARSED = "unparsed", "Unparsed (needs a person)"
        PROPOSED = "proposed", "Proposal (apply or dismiss)"
        APPLIED = "applied", "Applied"
        STALE = "stale", "Stale (a later event was applied)"
        DISMISSED = "dismissed", "Dismissed"
        LINKED = "linked", "Booked by hand from it"

    #: the statuses a person has to look at
    ATTENTION = (Status.UNPARSED, Status.PROPOSED)

    via = models.CharField(max_length=10, choices=Via.choices)
    message_id = models.CharField(max_length=255, blank=True, help_text="The Message-ID header.")
    content_hash = models.CharField(
        max_length=64, help_text="SHA-256 of the message body (headers added in transit excluded)."
    )
    raw = models.BinaryField(help_text="The message exactly as it arrived (RFC 5322 bytes).")
    size = models.PositiveIntegerField(default=0)
    subject = models.CharField(max_length=300, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    sender_domain = models.CharField(max_length=253, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="The Date header.")
    occurred_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the marketplace sent it: the quoted original's date in a forward or "
        "reply, else the Date header. Orders it against the booking's other events.",
    )
    envelope = models.JSONField(
        default=dict, blank=True, help_text="How it came: envelope sender/recipient, mailbox, file."
    )
    headers = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    times_seen = models.PositiveIntegerField(default=1)

    dkim = models.CharField(max_length=20, blank=True)
    spf = models.CharField(max_length=20, blank=True)
    dmarc = models.CharField(max_length=20, blank=True)
    authenticated = models.BooleanField(
        default=False, help_text="Passes DKIM/DMARC for the marketplace's own domain."
    )

    marketplace = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    event = models.CharField(
        max_length=20, blank=True, help_text="request, confirmed, changed, cancelled or expired."
    )
    external_id = models.CharField(max_length=64, blank=True, help_text="The booking's id.")
    found = models.JSONField(default=dict, blank=True, help_text="Every field the parser found.")
    payload = models.JSONField(
        null=True, blank=True, help_text="The booking snapshot (intake schema) when complete."
    )
    problems = models.JSONField(default=list, blank=True)
    booking = models.ForeignKey(
        "bookings.Booking",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_emails",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "inbound email"
        constraints = [
            models.UniqueConstraint(
                fields=["message_id", "content_hash"], name="inbound_email_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(status__in=["unparsed", "proposed"]),
                name="inbound_email_attention",
            ),
            models.Index(fields=["marketplace", "external_id"], name="inbound_email_booking"),
        ]

    def __str__(self) -> str:
        return f"{self.subject or '(no subject)'} · {self.from_address or '?'}"

    @property
    def needs_attention(self) -> bool:
        return self.status in self.ATTENTION
