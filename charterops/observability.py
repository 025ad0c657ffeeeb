"""What operators see: one JSON log line per event, with ids and never a secret; Sentry.

- ``RequestContextMiddleware`` gives every request an id (``X-Request-ID``, kept from the
  proxy when it sends a sane one), binds the booking id the URL names, and logs one line
  per request with the route *pattern* (never the path: paths and query strings carry magic
  links, feed tokens and signed photo URLs).
- Celery signals bind the task, booking id and target of fan-out tasks, and log each task's
  outcome; model signals log stored webhook deliveries and recorded crew notifications.
- ``JsonFormatter`` writes the allow-listed fields only, and ``redact`` scrubs messages and
  tracebacks of anything that looks like a token.
- ``sentry_init`` turns on Sentry for web, workers and beat when ``SENTRY_DSN`` is set.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("charterops.ops")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
booking_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "booking_id", default=None
)
target_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("target", default=None)
task_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task", default=None)

#: the only record attributes a log line carries besides time, level, logger and message.
FIELDS = (
    "request_id",
    "booking_id",
    "target",
    "delivery_id",
    "notification_id",
    "task",
    "task_id",
    "outcome",
    "status",
    "method",
    "route",
    "duration_ms",
    "source",
    "kind",
    "reason",
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_SECRET_PATTERNS = [
    # query parameters that carry credentials (magic links, presigned URLs, policies)
    (
        re.compile(
            r"(?i)\b(sesame|token|signature|x-amz-signature|x-amz-credential|"
            r"x-amz-security-token|policy|key|secret|password)=[^&\s\"']+"
        ),
        r"\1=[redacted]",
    ),
    # headers or pairs that carry credentials
    (
        re.compile(r"(?i)\b(x-dashboard-token|authorization|x-service-key)([\"']?\s*[:=]\s*)\S+"),
        r"\1\2[redacted]",
    ),
    # long opaque values: feed tokens, signed photo URLs, HMACs (a digit among 16+ chars,
    # or any run of 32+; words_with_underscores and dotted module names pass)
    (re.compile(r"(?=[A-Za-z_\-]*\d)[A-Za-z0-9_\-]{16,}|[A-Za-z0-9_\-]{32,}"), "[redacted]"),
]


def redact(text: str) -> str:
    """``text`` with every credential-looking value replaced by ``[redacted]``."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class ContextFilter(logging.Filter):
    """Puts the current request id, booking id, target and task on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in (
            ("request_id", request_id_var),
            ("booking_id", booking_id_var),
            ("target", target_var),
            ("task", task_var),
        ):
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: allow-listed fields only, message and traceback redacted."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                if isinstance(value, int | float) or name in {"request_id", "task_id"}:
                    line[name] = value
                else:
                    line[name] = redact(str(value))
        if record.exc_info:
            line["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


class RedactingFormatter(logging.Formatter):
    """The demo's plain-text lines, redacted the same way."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RequestContextMiddleware:
    """Request id in, ``X-Request-ID`` out, the booking id bound, one log line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        tokens = [request_id_var.set(request_id), booking_id_var.set(None)]
        started = time.monotonic()
        try:
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "route": (match.route or match.view_name) if match else "(unresolved)",
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            response["X-Request-ID"] = request_id
            return response
        finally:
            booking_id_var.reset(tokens[1])
            request_id_var.reset(tokens[0])

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        booking_id = view_kwargs.get("booking_id") or view_kwargs.get("object_id")
        if booking_id and str(booking_id).isdigit():
            booking_id_var.set(int(booking_id))


# --- Celery: task context and outcome ---------------------------------------------------
@contextlib.contextmanager
def fanout_row_context(booking_id: int, target: str) -> Iterator[None]:
    """Log lines inside carry the fan-out row's booking and target (set by the engine once
    it holds the row, so no task has to look the row up just to log it)."""
    tokens = booking_id_var.set(booking_id), target_var.set(target)
    try:
        yield
    finally:
        target_var.reset(tokens[1])
        booking_id_var.reset(tokens[0])


def _task_prerun(sender=None, task_id=None, task=None, args=None, kwargs=None, **_: Any) -> None:
    name = getattr(task, "name", None)
    task_var.set(name)
    booking_id_var.set(None)
    target_var.set(None)
    if name == "charterops.target_state_run":
        state_id = (args or [None])[0] if args else (kwargs or {}).get("state_id")
        from charterops.models import TargetState

        row = TargetState.objects.filter(pk=state_id).values("booking_id", "target").first()
        if row:
            booking_id_var.set(row["booking_id"])
            target_var.set(row["target"])


def _task_postrun(sender=None, task_id=None, task=None, retval=None, state=None, **_: Any) -> None:
    outcome = retval if isinstance(retval, str | int) else state
    logger.info("task finished", extra={"task_id": task_id, "outcome": outcome})
    task_var.set(None)
    booking_id_var.set(None)
    target_var.set(None)


def _task_failure(sender=None, task_id=None, exception=None, **_: Any) -> None:
    logger.error("task failed", extra={"task_id": task_id, "reason": type(exception).__name__})


# --- Model events worth a line ------------------------------------------------------------
def _delivery_saved(sender, instance, created: bool, **_: Any) -> None:
    if created:
        logger.info(
            "webhook delivery stored",
            extra={
                "delivery_id": instance.pk,
                "source": instance.source,
                "outcome": instance.outcome,
            },
        )


def _notification_saved(sender, instance, created: bool, **_: Any) -> None:
    logger.info(
        "crew notification recorded" if created else "crew notification updated",
        extra={
            "notification_id": instance.pk,
            "booking_id": instance.booking_id,
            "target": "crew",
            "kind": getattr(instance, "kind", None),
            "status": getattr(instance, "status", None),
        },
    )


def signals_connect() -> None:
    """Connect the Celery and model signal handlers (from ``CharterOpsConfig.ready``)."""
    from celery.signals import task_failure, task_postrun, task_prerun
    from django.apps import apps
    from django.db.models.signals import post_save

    task_prerun.connect(_task_prerun, weak=False)
    task_postrun.connect(_task_postrun, weak=False)
    task_failure.connect(_task_failure, weak=False)
    for label, handler in (
        ("bookings.WebhookDelivery", _delivery_saved),
        ("crew.Notification", _notification_saved),
    ):
        try:
            model = apps.get_model(label)
        except LookupError:  # a model renamed elsewhere: its line is lost, nothing breaks
            continue
        post_save.connect(handler, sender=model, weak=False, dispatch_uid=f"ops-log-{label}")


# --- Sentry -------------------------------------------------------------------------------
def _scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Sentry events without query strings, cookies or credential headers."""
    request = event.get("request") or {}
    if request.get("url"):
        request["url"] = redact(request["url"].split("?", 1)[0])
    request.pop("query_string", None)
    request.pop("cookies", None)
    headers = request.get("headers") or {}
    for name in list(headers):
        if name.lower() in {"cookie", "authorization", "x-dashboard-token", "x-service-key"}:
            headers[name] = "[redacted]"
    return event


def sentry_init(dsn: str, *, environment: str, traces_sample_rate: float = 0.0) -> bool:
    """Report errors of this process (web, worker or beat) to Sentry; False without the SDK."""
    try:
        import sentry_sdk
        from sentry_sdk.integrations.celery import CeleryIntegration
        from sentry_sdk.integrations.django import DjangoIntegration
    except ImportError:  # pragma: no cover - a dependency; optional by design
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration(monitor_beat_tasks=True)],
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        before_send=_scrub_event,
    )
    return True
