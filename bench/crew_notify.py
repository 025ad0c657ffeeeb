"""Crew-notification benchmark: are crew told, once, on a real worker, across a kill -9?

Bookings with three crew each (members drawn from a shared pool, so one member is told
about several charters at once) are rescheduled several times on a real Celery worker
(threads, concurrency 8, Redis); the crew target is the real one and writes real mail to a
file outbox, the other targets are fakes. Prints, without and with a kill -9 of the worker
mid-send between reschedules:

- pairs told / pairs total: (booking, member) pairs holding a ``sent`` message of the
  booking's latest version;
- duplicates: a pair sent the latest version twice, or a message in the outbox twice;
- outbox vs records: messages written but not recorded as sent, and the reverse;
- stuck rows, and the time to settle after the last change.

Uses PostgreSQL (database ``charterops_bench``, created if missing) on 127.0.0.1:5432 and
Redis on 127.0.0.1:6379 (db 13, or ``BENCH_REDIS_URL``); both are required.

    uv run python bench/crew_notify.py            # 12 bookings x 3 crew, 3 reschedules
    uv run python bench/crew_notify.py --quick    # 6 bookings
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
FAKES = ("calendar", "checklist", "guest_page")


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname='charterops_bench'").fetchone():
            c.execute("CREATE DATABASE charterops_bench")
    return "postgres://postgres@127.0.0.1:5432/charterops_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (6 bookings)")
    parser.add_argument("--bookings", type=int, help="bookings per run (default 12)")
    parser.add_argument("--reschedules", type=int, default=3)
    args = parser.parse_args()
    bookings = args.bookings or (6 if args.quick else 12)
    if not (_port_open(6379) and _port_open(5432)):
        sys.exit("bench/crew_notify.py needs Redis on :6379 and PostgreSQL on :5432")

    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    fake = {
        "latency": dict.fromkeys(FAKES, 0.02),
        "store": REDIS_URL,
        "namespace": namespace,
        "real": ["crew"],
    }
    queue = f"crew-bench-{uuid.uuid4().hex[:8]}"
    database_url = _database_url()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "charterops.settings",
            "CHARTEROPS_MODE": os.environ.get("CHARTEROPS_MODE", "demo"),
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CHARTEROPS_FANOUT_QUEUE": queue,
            "CHARTEROPS_FANOUT_FAKE": json.dumps(fake),
            "CHARTEROPS_FANOUT_LEASE_SECONDS": "4",  # the sweep of this process
            "CHARTEROPS_VAR_DIR": str(ROOT / "var" / "bench"),
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    from charterops.fanout.fakes import FakeWorld
    from tests.crew_scenario import crew_notify_run, worker_env
    from tests.worker import CeleryWorker, purge_queue

    call_command("migrate", verbosity=0)
    print(
        f"database: {database_url.split('@')[-1]}; broker: Redis; one worker, threads x 8; "
        f"{bookings} bookings x 3 crew, {args.reschedules} reschedules each"
    )
    for kill in (None, 1):
        var_dir = Path(tempfile.mkdtemp(prefix="crew-bench-"))
        workers: list[CeleryWorker] = []

        def start(var_dir: Path = var_dir, workers: list = workers) -> CeleryWorker:
            worker = CeleryWorker(
                broker_url=REDIS_URL,
                database_url=database_url,
                fake=fake,
                queue=queue,
                concurrency=8,
                extra_env={
                    **worker_env(var_dir),
                    "DJANGO_DEBUG": "false",
                    "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
                },
            )
            workers.append(worker.start(timeout=120))
            return worker

        try:
            figures = crew_notify_run(
                start_worker=start,
                outbox_dir=var_dir / "outbox",
                bookings=bookings,
                crew=3,
                reschedules=args.reschedules,
                kill_after_round=kill,
                via="bench",
            )
        finally:
            for worker in workers:
                worker.stop()
            purge_queue(REDIS_URL, queue)
        print(("with kill -9:    " if kill is not None else "without a kill: ") + figures.line())
        for row in figures.stuck[:10]:
            print(f"  stuck: {row}")
    FakeWorld(fake).clear()


if __name__ == "__main__":
    main()
