"""App config for bookings."""

from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .intake.mail import sources  # noqa: F401  (connects anymail's inbound signal)
