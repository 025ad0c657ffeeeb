"""Fan-out benchmark: latency and throughput of the engine on a real Celery worker and Redis.

Every configured target is faked with a latency (default: calendar 400 ms, crew 300 ms,
checklist 20 ms, guest page 250 ms, guest message 300 ms). Prints:

- latency: median and p95 from booking commit to every target done, the ratio to the
  slowest target's latency, and the same bookings run target after target (the seed's
  sequential Lambda chain) for comparison;
- throughput: N bookings committed at once, bookings fully synced per second.

Uses PostgreSQL (database ``charterops_bench``, created if missing) when it answers on
127.0.0.1:5432, else a SQLite file; Redis on 127.0.0.1:6379 db 13 is required.

    uv run python bench/fanout.py            # 40 latency samples, 1,000 bookings
    uv run python bench/fanout.py --quick    # 10 samples, 200 bookings
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: every configured target, faked with the latency of the outside call it makes (the guest's
#: message is an email, like the crew's)
LATENCY = {
    "calendar": 0.4,
    "crew": 0.3,
    "checklist": 0.02,
    "guest_page": 0.25,
    "guest_notify": 0.3,
}
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    if _port_open(5432):
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            if not c.execute(
                "SELECT 1 FROM pg_database WHERE datname='charterops_bench'"
            ).fetchone():
                c.execute("CREATE DATABASE charterops_bench")
        return "postgres://postgres@127.0.0.1:5432/charterops_bench"
    path = ROOT / "var" / "bench-fanout.sqlite3"
    path.parent.mkdir(exist_ok=True)
    return f"sqlite:///{path}"


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages: the figures move with the machine's load."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (CI smoke)")
    parser.add_argument("--samples", type=int, help="bookings for the latency figure")
    parser.add_argument("--bookings", type=int, help="bookings for the throughput figure")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes (one per core: the GIL binds each to one)",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="threads per worker")
    args = parser.parse_args()
    samples = args.samples or (10 if args.quick else 40)
    bulk = args.bookings or (200 if args.quick else 1000)
    if not _port_open(6379):
        sys.exit("bench/fanout.py needs Redis on 127.0.0.1:6379")

    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    fake = {"latency": LATENCY, "store": REDIS_URL, "namespace": namespace}
    queue = f"fanout-bench-{uuid.uuid4().hex[:8]}"
    database_url = _database_url()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "charterops.settings",
            # The embedded defaults (cache, mail): production mode fails closed without them.
            "CHARTEROPS_MODE": os.environ.get("CHARTEROPS_MODE", "demo"),
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CHARTEROPS_FANOUT_QUEUE": queue,
            "CHARTEROPS_FANOUT_FAKE": json.dumps(fake),
            "CHARTEROPS_VAR_DIR": str(ROOT / "var" / "bench"),
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from bookings.models import Boat, Booking
    from bookings.services import booking_create
    from charterops.fanout.fakes import FakeTarget, FakeWorld
    from charterops.models import TargetState
    from tests.factories import BookingFactory
    from tests.worker import CeleryWorker, purge_queue

    call_command("migrate", verbosity=0)
    Booking.objects.filter(guest_name__startswith="Bench ").delete()
    boat = Boat.objects.get_or_create(
        slug="bench-boat", defaults={"name": "Bench boat", "capacity": 50}
    )[0]

    def fields(i: int, status: str = "confirmed") -> dict:
        built = BookingFactory.build(
            boat=boat,
            guest_name=f"Bench {i}",
            status=status,
            external_id=f"BENCH-{namespace}-{i}-{status}",
        )
        data = {
            f.name: getattr(built, f.name)
            for f in built._meta.concrete_fields
            if f.name not in {"id", "version", "created_at", "updated_at", "last_event_at"}
        }
        data["boat"] = boat
        return data

    workers = [
        CeleryWorker(
            broker_url=REDIS_URL,
            database_url=database_url,
            fake=fake,
            queue=queue,
            concurrency=args.concurrency,
            # Run workers as production does: DEBUG off (no debug cursor, no query log).
            extra_env={
                "DATABASE_POOL_MAX_SIZE": str(args.concurrency + 4),
                "DJANGO_DEBUG": "false",
                "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
            },
        ).start()
        for _ in range(args.workers)
    ]
    worker = workers[0]
    total = args.workers * args.concurrency
    try:
        print(
            f"database: {database_url.split('@')[-1]}; broker: Redis; {args.workers} worker "
            f"process(es) x {args.concurrency} threads = concurrency {total}; "
            f"fake latencies (s): {LATENCY}"
        )
        slowest = max(LATENCY.values())
        from django.conf import settings

        targets = len(settings.CHARTEROPS_FANOUT_TARGETS)
        if set(settings.CHARTEROPS_FANOUT_TARGETS) != set(LATENCY):
            raise SystemExit(f"bench/fanout.py fakes {sorted(LATENCY)}; configured targets differ")

        # -- latency: one booking at a time, commit -> all its targets done -------------------
        latencies = []
        for i in range(samples):
            start = time.perf_counter()
            booking = booking_create(via="bench", **fields(i))
            while TargetState.objects.filter(booking=booking, status="done").count() < targets:
                time.sleep(0.005)
            latencies.append(time.perf_counter() - start)
        median, p95 = statistics.median(latencies), percentile(latencies, 95)

        # -- the seed's sequential chain: the same work, target after target ------------------
        sequential = []
        for i in range(samples):
            booking = booking_create(via="bench", **fields(i, status="inquiry"))
            booking.status = "confirmed"
            start = time.perf_counter()
            for name in LATENCY:
                target = FakeTarget()
                target.name = name
                target.sync(booking, state=None)
            sequential.append(time.perf_counter() - start)
        seq_median = statistics.median(sequential)

        print(
            f"latency ({samples} bookings): median {median * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms; slowest target {slowest * 1000:.0f} ms; "
            f"ratio median/slowest {median / slowest:.2f} (goal <= 1.25), "
            f"p95/slowest {p95 / slowest:.2f}"
        )
        print(
            f"sequential chain ({samples} bookings): median {seq_median * 1000:.0f} ms; "
            f"parallel is {seq_median / median:.2f}x faster"
        )

        # -- throughput: N bookings committed at once -----------------------------------------
        with transaction.atomic():
            created = [booking_create(via="bench", **fields(10_000 + i)) for i in range(bulk)]
            ids = [b.pk for b in created]
            start = time.perf_counter()  # the commit publishes one message per booking
        while True:
            done = TargetState.objects.filter(booking_id__in=ids, status="done").count()
            if done >= targets * bulk:
                break
            if time.perf_counter() - start > 600:
                raise SystemExit(
                    f"throughput run did not finish: {done}/{targets * bulk}\n{worker.tail()}"
                )
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        failed = TargetState.objects.filter(booking_id__in=ids).exclude(status="done").count()
        world = FakeWorld(fake)
        duplicates = sum(1 for b in ids[:50] for t in LATENCY if world.get(t, b, "creations") != 1)
        print(
            f"throughput ({bulk} bookings, {targets * bulk} target runs, concurrency "
            f"{total}): {bulk / elapsed:.1f} bookings/s fully synced "
            f"({elapsed:.1f} s; goal >= 45/s); not done: {failed}; duplicate creations "
            f"in a 50-booking sample: {duplicates}; load average {loadavg()}"
        )
        # One line to compare runs (before/after, side by side).
        figures = {
            "bench": "fanout",
            "workers": args.workers,
            "concurrency": total,
            "latency_median_ms": round(median * 1000),
            "latency_p95_ms": round(p95 * 1000),
            "ratio_median": round(median / slowest, 2),
            "ratio_p95": round(p95 / slowest, 2),
            "bookings": bulk,
            "bookings_per_s": round(bulk / elapsed, 1),
            "not_done": failed,
            "duplicates": duplicates,
            "loadavg": loadavg(),
        }
        print(json.dumps(figures))
    finally:
        for w in workers:
            w.stop()
        purge_queue(REDIS_URL, queue)
        FakeWorld(fake).clear()
        Booking.objects.filter(guest_name__startswith="Bench ").delete()


if __name__ == "__main__":
    main()
