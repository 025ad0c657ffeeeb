"""Sorting outside failures into transient and permanent, and how long to wait before retrying."""

from __future__ import annotations

import random
import socket

from django.conf import settings

from .targets import PermanentError, TargetError, TransientError

TRANSIENT_HTTP = {408, 425, 429, 500, 502, 503, 504}


def classify(exc: BaseException) -> TargetError:
    """Turn any exception from a target into a TransientError or a PermanentError."""
    if isinstance(exc, TargetError):
        return exc
    status = _http_status(exc)
    if status is not None:
        if status in TRANSIENT_HTTP or status >= 500:
            return TransientError(f"HTTP {status} from the service: {_short(exc)}")
        return PermanentError(f"HTTP {status} from the service: {_short(exc)}")
    name = type(exc).__name__
    if isinstance(exc, (TimeoutError, ConnectionError, socket.timeout, OSError)):
        return TransientError(f"{name}: {_short(exc)}")
    if "Throttl" in name or "Timeout" in name or "Connection" in name:
        return TransientError(f"{name}: {_short(exc)}")
    code = _botocore_code(exc)
    if code:
        if code in {
            "Throttling",
            "ThrottlingException",
            "TooManyRequestsException",  # SES v2's throttling (HTTP 429)
            "RequestLimitExceeded",
            "SlowDown",
            "ServiceUnavailable",
            "InternalError",
            "RequestTimeout",
        }:
            return TransientError(f"AWS {code}: {_short(exc)}")
        return PermanentError(f"AWS {code}: {_short(exc)}")
    # Unknown failures are retried: a bug shows up as a row that exhausts its attempts.
    return TransientError(f"{name}: {_short(exc)}")


def backoff_seconds(attempt: int, *, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)].

    ``retry_after`` (a service's Retry-After) is honoured as a floor.
    """
    base = settings.CHARTEROPS_FANOUT_BACKOFF_BASE
    cap = settings.CHARTEROPS_FANOUT_BACKOFF_CAP
    delay = random.uniform(0, min(cap, base * (2 ** max(attempt - 1, 0))))
    if retry_after:
        delay = max(delay, min(retry_after, cap))
    return delay


def _http_status(exc: BaseException) -> int | None:
    resp = getattr(exc, "resp", None)  # googleapiclient.errors.HttpError
    for candidate in (getattr(exc, "status_code", None), getattr(resp, "status", None)):
        try:
            if candidate is not None:
                return int(candidate)
        except (TypeError, ValueError):
            continue
    return None


def _botocore_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
