"""A real Celery worker process for integration tests and benchmarks.

It runs ``celery -A charterops worker`` against Redis and the test database, on a queue of
its own (so parallel test sessions never take each other's messages), with fake targets
configured through ``CHARTEROPS_FANOUT_FAKE``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def database_url_for(settings_dict: dict[str, Any]) -> str:
    """The URL of the database a Django connection is on (the test database in tests)."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class CeleryWorker:
    """Start, kill and restart a worker; its log is kept for failure messages."""

    def __init__(
        self,
        *,
        broker_url: str,
        database_url: str,
        fake: dict[str, Any],
        queue: str | None = None,
        concurrency: int = 8,
        pool: str = "threads",
        extra_env: dict[str, str] | None = None,
    ):
        self.queue = queue or f"fanout-{uuid.uuid4().hex[:10]}"
        self.broker_url = broker_url
        self.concurrency = concurrency
        self.pool = pool
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("CHARTEROPS_", "CELERY_", "DATABASE_"))
            },
            # The suite's mode (pyproject's pytest env): workers start as the tests run.
            "CHARTEROPS_MODE": os.environ.get("CHARTEROPS_MODE", "demo"),
            "DJANGO_SETTINGS_MODULE": "charterops.settings",
            "DATABASE_URL": database_url,
            "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CHARTEROPS_FANOUT_QUEUE": self.queue,
            "CHARTEROPS_FANOUT_FAKE": json.dumps(fake),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None
        self.log: list[str] = []

    def start(self, timeout: float = 60) -> CeleryWorker:
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "charterops",
            "worker",
            f"--pool={self.pool}",
            f"--concurrency={self.concurrency}",
            "-Q",
            self.queue,
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{self.queue}-{uuid.uuid4().hex[:6]}@%h",
        ]
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        ready = threading.Event()

        def pump(proc: subprocess.Popen) -> None:
            for line in proc.stdout:
                self.log.append(line.rstrip())
                if " ready." in line:
                    ready.set()

        threading.Thread(target=pump, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Celery worker did not start:\n" + "\n".join(self.log[-40:]))
        return self

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task without acking or cleaning up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log[-lines:])


def point_app_at(broker_url: str) -> None:
    """Make this process's Celery app send to ``broker_url`` (it starts on settings)."""
    from charterops.celery import app

    app.conf.broker_url = broker_url
    app.conf.task_always_eager = False
    app._pool = None
    app.amqp._producer_pool = None


def purge_queue(broker_url: str, queue: str) -> None:
    import redis

    r = redis.Redis.from_url(broker_url)
    r.delete(queue)


def wait_until(predicate, *, timeout: float, interval: float = 0.05, message: str = "") -> float:
    """Poll until ``predicate()`` is true; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout}s")
