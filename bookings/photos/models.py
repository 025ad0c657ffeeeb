"""Photos and upload grants (they belong to the ``bookings`` app; tables kept from ``crew``).

``bookings/models.py`` imports them in one line so Django registers them. The crew member who
uploaded a photo is a string reference (``"crew.CrewMember"``): this module imports nothing
from ``crew``; guest photos have no member.
"""

from __future__ import annotations

from django.db import models


class Photo(models.Model):
    """A confirmed photo of a charter, from its crew or its guests (shown through expiring URLs)."""

    class Uploader(models.TextChoices):
        CREW = "crew", "Crew"
        GUEST = "guest", "Guest"

    booking = models.ForeignKey("bookings.Booking", on_delete=models.CASCADE, related_name="photos")
    uploaded_by = models.CharField(max_length=5, choices=Uploader.choices)
    member = models.ForeignKey(
        "crew.CrewMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="photos"
    )
    key = models.CharField(max_length=500, unique=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(default=0)
    hidden = models.BooleanField(default=False)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # From the photo's EXIF (crew photos keep it whole; guest photos lose only GPS).
    taken_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "crew_photo"
        ordering = ["booking_id", "uploaded_at"]

    def __str__(self) -> str:
        return self.key


class PhotoGrant(models.Model):
    """One upload grant handed out: the only keys a confirmation may record, once each.

    The sweep (``bookings.photos.uploads.photo_grants_sweep``) deletes the objects of grants
    that expired unconfirmed.
    """

    class Status(models.TextChoices):
        GRANTED = "granted", "Granted"
        CHECKING = "checking", "Being checked"
        CONFIRMED = "confirmed", "Confirmed"
        REFUSED = "refused", "Refused (not a photo)"
        SWEPT = "swept", "Expired unconfirmed (removed)"

    booking = models.ForeignKey(
        "bookings.Booking", on_delete=models.CASCADE, related_name="photo_grants"
    )
    uploaded_by = models.CharField(max_length=5, choices=Photo.Uploader.choices)
    member = models.ForeignKey(
        "crew.CrewMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key = models.CharField(max_length=500, unique=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.GRANTED)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "crew_photogrant"
        indexes = [
            models.Index(
                fields=["expires_at"],
                name="photogrant_open",
                condition=models.Q(status__in=["granted", "checking"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
