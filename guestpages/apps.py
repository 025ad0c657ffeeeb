"""App config for guest pages."""

from django.apps import AppConfig


class GuestPagesConfig(AppConfig):
    name = "guestpages"
    verbose_name = "Guest pages"
    default_auto_field = "django.db.models.BigAutoField"
