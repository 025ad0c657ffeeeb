"""App config for crew."""

from django.apps import AppConfig


class CrewConfig(AppConfig):
    name = "crew"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bookings.people import booking_captain_provider_register

        from . import (
            checklist,  # noqa: F401  (ticks readiness items: charterops.readiness)
            email_tracking,  # noqa: F401  (connects anymail's tracking signal)
            search,  # noqa: F401  (keeps crew names in the bookings' search document)
        )
        from .assignments import booking_captain_contact
        from .voyage import tasks  # noqa: F401  (registers the record PDF task)

        booking_captain_provider_register(booking_captain_contact)  # the guest page's captain
