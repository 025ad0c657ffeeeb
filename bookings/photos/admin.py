"""Admin for photos (crew's and guests'); registered when ``bookings/admin.py`` imports it."""

from __future__ import annotations

from django.contrib import admin

from .models import Photo


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = [
        "key",
        "booking",
        "uploaded_by",
        "member",
        "content_type",
        "size",
        "hidden",
        "uploaded_at",
    ]
    list_filter = ["uploaded_by", "hidden"]
    search_fields = ["key", "booking__external_id"]
    list_select_related = ["booking", "member"]
    raw_id_fields = ["booking", "member"]
