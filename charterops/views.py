"""Project-level views: the health check."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # the point is to report it, not to fail the probe
        return f"error: {type(exc).__name__}"


def _broker_state() -> str:
    if settings.CELERY_BROKER_URL.startswith("memory://"):
        return "in-process"
    from charterops.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with the database and broker state when the database answers, else 503."""
    database, broker = _database_state(), _broker_state()
    ok = database == "ok" and not broker.startswith("error")
    return JsonResponse(
        {
            "status": "ok" if ok else "degraded",
            "database": database,
            "database_engine": connection.vendor,
            "broker": broker,
        },
        status=200 if database == "ok" else 503,
    )
