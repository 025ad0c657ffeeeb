"""App config for bookings."""

from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from charterops.health import stuck_check_register

        from .health import webhook_delivery_oldest_due
        from .intake.mail import sources  # noqa: F401  (connects anymail's inbound signal)

        # /readyz watches the deliveries waiting to be applied (the hub imports no app).
        stuck_check_register("webhook_delivery", webhook_delivery_oldest_due)
