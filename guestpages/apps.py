"""App config for guest pages."""

from django.apps import AppConfig


class GuestPagesConfig(AppConfig):
    name = "guestpages"
    verbose_name = "Guest pages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from charterops.readiness import ReadinessCheck, readiness_check_register

        from . import email_tracking  # noqa: F401  (connects anymail's tracking signal)
        from .manifest import manifest_crew_context, waivers_readiness

        readiness_check_register(
            ReadinessCheck(
                key="waivers_signed",
                text="All waivers signed",
                state=waivers_readiness,
                crew_template="guestpages/crew_manifest.html",
                crew_context=manifest_crew_context,
            )
        )
