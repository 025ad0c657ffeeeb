"""Liveness and readiness: what a load balancer, systemd or an operator asks the app.

``/healthz`` says the process answers (and whether its database does); ``/readyz`` checks
every dependency a request or a task needs (database, broker, cache, storage) and the age
of the oldest fan-out row, outbox message or other registered queue's item (bookings: the
webhook delivery) that should have been worked on by now. Both answer JSON, before host and
https checks (``HealthMiddleware``), so a probe on the machine can ask over plain HTTP by IP.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Min, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone


def _error(exc: BaseException) -> str:
    return f"error: {type(exc).__name__}"


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # the point is to report it, not to fail the probe
        return _error(exc)


def broker_state() -> str:
    if settings.CELERY_BROKER_URL.startswith("memory://"):
        return "in-process"
    from charterops.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return _error(exc)


def cache_state() -> str:
    """A write and a read on the shared cache (rate limits live there)."""
    key, value = f"charterops:readyz:{uuid.uuid4().hex}", "1"
    try:
        cache.set(key, value, timeout=10)
        ok = cache.get(key) == value
        cache.delete(key)
        return "ok" if ok else "error: cache does not keep what it is given"
    except Exception as exc:
        return _error(exc)


def storage_state() -> str:
    """The photo store answers: the bucket (S3) or the media folder (local) is reachable."""
    try:
        if settings.CHARTEROPS_STORAGE == "s3":
            from charterops.integrations.s3 import s3_client

            s3_client().head_bucket(Bucket=settings.PHOTOS_BUCKET)
            return "ok"
        from django.core.files.storage import storages

        storages["default"].exists("readyz-probe")
        return "ok"
    except Exception as exc:
        return _error(exc)


#: when the oldest item of a queue fell due and was not worked on; None when nothing waits
OldestDue = Callable[[datetime], datetime | None]

#: every queue ``/readyz`` watches, by the name it reports (``oldest_stuck_seconds``). The
#: hub's own (fan-out rows, outbox messages) are here; an app adds its own from its
#: ``AppConfig.ready`` with ``stuck_check_register`` (bookings: ``webhook_delivery``), so
#: this module names no app.
STUCK_CHECKS: dict[str, OldestDue] = {}


def stuck_check_register(name: str, oldest_due: OldestDue) -> None:
    """Watch one more queue on ``/readyz`` (or replace the one of that name).

    ``oldest_due(now)`` answers when the oldest item that should have been worked on by
    ``now`` fell due, or None; it should cost one query. Called from an app's ``ready``.
    """
    STUCK_CHECKS[name] = oldest_due


def oldest_stuck_seconds() -> dict[str, float | None]:
    """Seconds since the oldest item of each watched queue fell due; ``None``: none waits."""
    now = timezone.now()
    ages: dict[str, float | None] = {}
    for name, oldest_due in STUCK_CHECKS.items():
        at = oldest_due(now)
        ages[name] = round((now - at).total_seconds(), 1) if at is not None else None
    return ages


def fanout_oldest_due(now: datetime) -> datetime | None:
    """When the oldest fan-out row fell due: pending or retrying with its next attempt passed,
    or running with its lease run out."""
    from charterops.models import TargetState

    rows = TargetState.objects.filter(
        Q(status__in=[TargetState.Status.PENDING, TargetState.Status.RETRYING])
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    ).aggregate(due=Min("next_attempt_at"), touched=Min("updated_at"))
    lease = timedelta(seconds=settings.CHARTEROPS_FANOUT_LEASE_SECONDS)
    leased = TargetState.objects.filter(
        status=TargetState.Status.RUNNING, leased_at__lt=now - lease
    ).aggregate(at=Min("leased_at"))["at"]
    since = [t for t in (rows["due"] or rows["touched"], leased and leased + lease) if t]
    return min(since) if since else None


def outbox_oldest_due(now: datetime) -> datetime | None:
    """When the oldest outbox message (crew notification, staff notice) fell due.

    Every concrete ``OutboxMessage`` model counts, found through the app registry so this
    hub names none of its spokes.
    """
    from django.apps import apps
    from django.db.models.functions import Coalesce

    from charterops.outbox import OutboxMessage, outbox_due

    oldest = []
    for model in apps.get_models():
        if issubclass(model, OutboxMessage) and hasattr(model, "created_at"):
            at = outbox_due(model.objects.all(), now=now).aggregate(
                at=Min(Coalesce("next_attempt_at", "created_at"))
            )["at"]
            if at is not None:
                oldest.append(at)
    return min(oldest) if oldest else None


stuck_check_register("fanout", fanout_oldest_due)
stuck_check_register("outbox", outbox_oldest_due)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 while the process and its database answer, else 503."""
    database, broker = database_state(), broker_state()
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


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 ``ready`` when every dependency answers and nothing is stuck, else 503."""
    started = time.monotonic()
    checks = {
        "database": database_state(),
        "broker": broker_state(),
        "cache": cache_state(),
        "storage": storage_state(),
    }
    failing = [name for name, state in checks.items() if state.startswith("error")]
    stuck: dict[str, float | None] = dict.fromkeys(STUCK_CHECKS)
    if checks["database"] == "ok":
        try:
            stuck = oldest_stuck_seconds()
        except Exception as exc:
            checks["database"] = _error(exc)
            failing.append("database")
    limit = settings.CHARTEROPS_READY_MAX_STUCK_SECONDS
    failing += [f"stuck_{name}" for name, age in stuck.items() if age is not None and age > limit]
    return JsonResponse(
        {
            "status": "not ready" if failing else "ready",
            "failing": failing,
            **checks,
            "oldest_stuck_seconds": stuck,
            "stuck_limit_seconds": limit,
            "took_ms": round((time.monotonic() - started) * 1000, 1),
        },
        status=503 if failing else 200,
    )


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": healthz, "/readyz": readyz}


class HealthMiddleware:
    """Answers the probes first: before ALLOWED_HOSTS, the https redirect and sessions.

    A load balancer or systemd probes by IP over plain HTTP; neither should need the
    public host name or TLS to learn whether the process is alive and ready.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in {"GET", "HEAD"}:
            return probe(request)
        return self.get_response(request)
