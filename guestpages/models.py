"""The guest's confirmation page of a booking, and the messages the guest is sent."""

from __future__ import annotations

import secrets
import string

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from bookings.models import Booking
from charterops.outbox import OutboxMessage

PAGE_ID_ALPHABET = string.ascii_lowercase + string.digits
PAGE_ID_LENGTH = 12


def new_page_id() -> str:
    """An unguessable page id from a secure random source, never derived from the booking."""
    return "".join(secrets.choice(PAGE_ID_ALPHABET) for _ in range(PAGE_ID_LENGTH))


class GuestPage(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CANCELLED = "cancelled", "Cancelled"

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="guest_page")
    page_id = models.CharField(
        max_length=32,
        unique=True,
        default=new_page_id,
        validators=[
            RegexValidator(r"^[a-z0-9]{10,32}$", "10 or more lowercase letters and digits.")
        ],
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    content_hash = models.CharField(max_length=64, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    public_url = models.URLField(blank=True)
    #: the booking version the calendar file's DTSTAMP was taken for, and that stamp: fixed per
    #: version so that the page's bytes (and hash) change only when the booking does.
    calendar_version = models.PositiveIntegerField(default=0, editable=False)
    calendar_stamp = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return f"/g/{self.page_id}"


class GuestMessageSettings(models.Model):
    """Per booking: whether the guest is messaged at all, and by which channel.

    No row means the defaults: email first, and messages on unless the booking's marketplace
    messages its guests itself (``MarketplaceRules.relays_guest_messages``). A row is the
    staff's override, either way, and its ``enabled`` is always the effective value.
    """

    booking = models.OneToOneField(
        Booking, on_delete=models.CASCADE, related_name="guest_message_settings"
    )
    enabled = models.BooleanField(default=True, help_text="Send the guest our messages.")
    prefer_sms = models.BooleanField(
        default=False, help_text="Text the guest's mobile even when there is an email address."
    )
    round = models.PositiveIntegerField(
        default=0, editable=False, help_text="Bumped each time messages are switched back on."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "guest message settings"
        verbose_name_plural = "guest message settings"

    def __str__(self) -> str:
        return f"Guest messages of {self.booking_id}: {'on' if self.enabled else 'off'}"


class GuestMessage(OutboxMessage):
    """One message to the guest about one version of a booking, recorded before it is sent.

    An outbox row (``charterops.outbox``); the unique (booking, version, kind, round) makes a
    redelivered or concurrent run record nothing new.
    """

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Confirmation"
        CHANGED = "changed", "Change notice"
        CANCELLED = "cancelled", "Cancellation notice"
        REMINDER = "reminder", "Day-before reminder"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="guest_messages")
    booking_version = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    #: the settings' round: a message superseded by "off" can be recorded again once back on
    round = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=254)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "booking_version", "kind", "round"],
                name="guest_message_once_per_version_kind",
            ),
        ]
        indexes = [
            models.Index(
                fields=["booking"],
                name="guest_message_unsettled",
                condition=models.Q(status__in=["queued", "sending", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to the guest (v{self.booking_version})"


def new_share_token() -> str:
    """An unguessable token of one party member's share link (like a page id)."""
    return "".join(secrets.choice(PAGE_ID_ALPHABET) for _ in range(16))


class WaiverText(models.Model):
    """One version of the company's waiver. Never edited: a change is a new version, so every
    signature keeps pointing at the exact text (and its SHA-256) the guest accepted."""

    version = models.PositiveIntegerField(unique=True, editable=False)
    title = models.CharField(max_length=200, default="Release of liability and assumption of risk")
    body = models.TextField(help_text="Plain text; blank lines separate paragraphs.")
    sha256 = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"Waiver v{self.version} ({self.sha256[:12]})"


class Manifest(models.Model):
    """The party's list ashore: who to call if something happens on the water."""

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="manifest")
    emergency_name = models.CharField(max_length=100, blank=True)
    emergency_phone = models.CharField(max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Manifest of {self.booking_id}"


class ManifestEntry(models.Model):
    """One person aboard, named by the guest; its token is the share link they sign from."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="manifest_entries")
    full_name = models.CharField(max_length=100)
    token = models.CharField(max_length=32, unique=True, default=new_share_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    #: a signed person staff took off the party: the row stays, because its signature does
    #: (``manifest_entry_remove`` with a reason); off every list and count from then on.
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)
    removed_reason = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        ordering = ["booking_id", "id"]
        verbose_name = "party member"
        verbose_name_plural = "party (manifest)"

    def __str__(self) -> str:
        return self.full_name


class WaiverSignature(models.Model):
    """A signed waiver: immutable once written (the document is stored, never rewritten)."""

    entry = models.OneToOneField(ManifestEntry, on_delete=models.PROTECT, related_name="waiver")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="waivers")
    waiver_text = models.ForeignKey(WaiverText, on_delete=models.PROTECT, related_name="+")
    text_version = models.PositiveIntegerField()
    text_sha256 = models.CharField(max_length=64)
    signed_name = models.CharField(max_length=100, help_text="The full name typed as signature.")
    adult = models.BooleanField(help_text="The person aboard is 18 or over.")
    date_of_birth = models.DateField(null=True, blank=True)
    guardian_name = models.CharField(
        max_length=100, blank=True, help_text="The parent or guardian who signed for a minor."
    )
    signed_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    document = models.CharField(max_length=300, help_text="Storage key of the signed HTML.")
    document_sha256 = models.CharField(max_length=64)
    #: the same signature as a PDF, written once beside the HTML (blank until rendered: older
    #: signatures get theirs on first download, ``waiver_pdf_store``).
    pdf_document = models.CharField(
        max_length=300, blank=True, help_text="Storage key of the signed waiver as PDF."
    )
    pdf_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["booking_id", "signed_at"]

    def __str__(self) -> str:
        return f"Waiver of {self.entry} (v{self.text_version})"
