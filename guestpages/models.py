"""The guest's confirmation page of a booking."""

from __future__ import annotations

import secrets
import string

from django.core.validators import RegexValidator
from django.db import models

from bookings.models import Booking

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

    class Meta:
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return f"/g/{self.page_id}"
