"""Admin for guest pages."""

from django.contrib import admin

from .models import GuestPage


@admin.register(GuestPage)
class GuestPageAdmin(admin.ModelAdmin):
    list_display = ["page_id", "booking", "status", "published_at", "public_url"]
    list_filter = ["status"]
    search_fields = ["page_id", "booking__external_id", "booking__guest_name"]
    list_select_related = ["booking"]
    readonly_fields = ["page_id", "content_hash", "published_at", "public_url"]
    raw_id_fields = ["booking"]
