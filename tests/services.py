"""Reaching this machine's PostgreSQL, Redis and Chromium from tests: fail in CI, skip elsewhere."""

from __future__ import annotations

import os
import shutil
import socket

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REDIS_URL = os.environ.get("CHARTEROPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require(available: bool, what: str) -> None:
    """Skip with a reason when ``what`` is missing; under CI=true fail loudly instead."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) but is not available on this machine.")
    pytest.skip(f"{what} is not available here")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_redis() -> str:
    """The Redis URL real-worker tests use: the run's broker when it is Redis, else db 15.

    Celery lets the CELERY_BROKER_URL environment variable override its configuration, so
    tests must send where that variable points.
    """
    require(port_open("127.0.0.1", 6379), "Redis on 127.0.0.1:6379")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    return broker if broker.startswith("redis://") else REDIS_URL


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


#: A phone as Playwright emulates it: crew on the dock and guests open pages like this.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
