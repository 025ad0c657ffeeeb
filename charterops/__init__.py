"""CharterOps project package: settings, urls, the Celery app, audit trail and fan-out engine."""

from .celery import app as celery_app

__all__ = ["celery_app"]
