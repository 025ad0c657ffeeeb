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
    require(port_open("127.0.0.1", 6379), "Redis on 127.0.0.1:6379")
    return REDIS_URL


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
