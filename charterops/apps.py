"""App config: the project package is also an app, owning the audit trail and fan-out rows."""

from django.apps import AppConfig


class CharterOpsConfig(AppConfig):
    name = "charterops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from charterops.observability import signals_connect

        signals_connect()
