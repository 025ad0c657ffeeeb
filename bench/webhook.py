"""Webhook intake benchmark: signed deliveries against gunicorn + PostgreSQL, vs a bare insert.

Starts gunicorn on a loopback port with the real app (plus a bench-only bare-insert view,
see ``bench/webhook_server``) on PostgreSQL database ``charterops_bench_intake`` (created
and migrated here), Celery pointed at Redis db 2 (flushed afterwards). A load generator in
this process then sends a bounded number of requests from a few keep-alive connections and
prints, for the webhook and for the bare insert, deliveries per second with p50/p99
latency, the throughput ratio (goal >= 0.8), and the p99 of the webhook at a paced 200
deliveries/s (goal <= 50 ms).

Every delivery is a new booking. The request checks it and stores it (one INSERT), and
wakes the intake queue; no worker runs while the server is measured (both share this
machine's CPUs), so the stored deliveries wait. Then gunicorn stops, a real Celery worker
drains the queue, and the script prints how fast the worker applied them (booking, audit
row, fan-out rows and messages per delivery) and their final outcomes: every delivery
answered 202 must end ``accepted``.

    uv run python bench/webhook.py            # 2,000 requests per side, 10 s paced
    uv run python bench/webhook.py --quick    # 300 per side, 3 s paced
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bookings.signatures import signature_header  # noqa: E402  (pure function, no Django)

DB_NAME = os.environ.get("BENCH_INTAKE_DB", "charterops_bench_intake")
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
INTAKE_QUEUE = "bench-intake"
SECRET = "whsec_bench_" + uuid.uuid4().hex
WEBHOOK_PATH = "/webhooks/bookings/boatsetter/"
BARE_PATH = "/bench/bare-insert/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CHARTEROPS_WEBHOOK_SECRETS_", "DATABASE_", "CELERY_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.webhook_server.settings",
            # the embedded mode's defaults (cache, mail), with the real database and broker
            "CHARTEROPS_MODE": "demo",
            "DJANGO_DEBUG": "false",
            "SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "DATABASE_URL": DATABASE_URL,
            "DATABASE_CONN_MAX_AGE": "600",
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CHARTEROPS_WEBHOOK_SECRETS_BOATSETTER": SECRET,
            "CHARTEROPS_INTAKE_QUEUE": INTAKE_QUEUE,
            "CHARTEROPS_VAR_DIR": str(ROOT / "var" / "bench-webhook"),
            "LOG_LEVEL": "ERROR",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def database_prepare(env: dict[str, str]) -> None:
    """A fresh database, migrated, with the boat the deliveries name."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    run = [sys.executable, "manage.py"]
    subprocess.run([*run, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    code = (
        "from bookings.models import Boat;"
        "Boat.objects.create(name='Queen of San Diego', slug='queen', external_id='b-77', capacity=12)"
    )
    subprocess.run([*run, "shell", "-c", code], cwd=ROOT, env=env, check=True)


def redis_flush() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def server_start(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "charterops.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
    server_stop(proc)
    raise SystemExit("gunicorn did not answer /healthz within 120 s")


def server_stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


_counter = iter(range(10**9))
_counter_lock = threading.Lock()


#: the first delivery's charter; each next one is SLOT later (see ``delivery``)
FIRST_START = datetime(2027, 1, 4, 9, 0, tzinfo=timezone(timedelta(hours=-8)))
SLOT = timedelta(hours=5)


def delivery(run: str) -> tuple[bytes, dict[str, str]]:
    """A signed booking.created for a booking nobody has seen (a fresh event and booking id).

    Each delivery books its own four-hour slot of the boat. Until this was so, every
    delivery booked the same slot, so each was a double booking of all those before it and
    the worker's overlap check grew with the run (quadratic), which no real burst does.
    """
    with _counter_lock:
        n = next(_counter)
    start = FIRST_START + n * SLOT
    event = {
        "id": f"evt_{run}_{n}",
        "type": "booking.created",
        "occurred_at": "2026-12-01T17:02:11Z",
        "booking": {
            "id": f"BS-{run}-{n}",
            "status": "confirmed",
            "boat": {"id": "b-77", "name": "Queen of San Diego"},
            "start": start.isoformat(),
            "end": (start + timedelta(hours=4)).isoformat(),
            "meeting_point": "Harbor Island West Marina, dock C",
            "guest": {"name": "Ana Ruiz", "email": "ana@example.com", "phone": "+16195550100"},
            "party_size": 6,
            "captain_required": True,
            "special_requests": "",
            "pricing": {
                "currency": "USD",
                "boat_price": "950.00",
                "service_fee": "95.00",
                "captain_fee": "200.00",
                "owner_payout": "855.00",
            },
        },
    }
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        "X-CharterOps-Signature": signature_header(body, SECRET),
    }
    return body, headers


class Client:
    """One keep-alive connection; reconnects if the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        for attempt in (1, 2):
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def closed_loop(port: int, path: str, total: int, concurrency: int, run: str) -> dict:
    """``concurrency`` connections send ``total`` requests as fast as they are answered."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    remaining = iter(range(total))

    def worker() -> None:
        client = Client(port)
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            body, headers = delivery(run)
            started = time.perf_counter()
            status = client.post(path, body, headers)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return summary(latencies, statuses, wall)


def paced(port: int, path: str, rate: float, seconds: float, run: str, pool: int) -> dict:
    """Open loop: request i is due at t0 + i/rate; latency counts from when it was due."""
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    schedule = iter(range(total))
    t0 = time.perf_counter() + 0.2

    def worker() -> None:
        client = Client(port)
        while True:
            with lock:
                i = next(schedule, None)
            if i is None:
                return
            due = t0 + i / rate
            body, headers = delivery(run)
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            status = client.post(path, body, headers)
            elapsed = time.perf_counter() - due
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(pool)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summary(latencies, statuses, time.perf_counter() - t0)


def summary(latencies: list[float], statuses: dict[int, int], wall: float) -> dict:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {
        "count": len(ordered),
        "rps": len(ordered) / wall,
        "p50": statistics.median(ordered) * 1000,
        "p99": pct(0.99),
        "max": ordered[-1] * 1000,
        "statuses": dict(sorted(statuses.items())),
        "latencies": ordered,
        "wall": wall,
    }


def line(name: str, r: dict) -> str:
    return (
        f"{name:<22} {r['count']:>6} req  {r['rps']:>8.1f} /s  p50 {r['p50']:>7.1f} ms  "
        f"p99 {r['p99']:>7.1f} ms  max {r['max']:>7.1f} ms  statuses {r['statuses']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (make bench)")
    parser.add_argument("--requests", type=int, help="requests per side (closed loop)")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--rate", type=float, default=200.0, help="paced deliveries per second")
    args = parser.parse_args()
    total = args.requests or (300 if args.quick else 2000)
    total = min(total, 20_000)  # bounded whatever is asked
    paced_seconds = 3.0 if args.quick else 10.0
    # Enough to open every worker thread's database and broker connections before timing.
    warmup = max(50 if args.quick else 200, 10 * args.workers * args.threads)

    env = server_env()
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        print("PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are needed; skipped.")
        return 0
    database_prepare(env)
    redis_flush()
    port = free_port()
    proc = server_start(env, port, args.workers, args.threads)
    try:
        print(
            f"gunicorn gthread {args.workers}x{args.threads} on 127.0.0.1:{port}, PostgreSQL "
            f"{DB_NAME}, Celery broker {REDIS_URL} (no worker: tasks only enqueued); "
            f"{os.cpu_count()} CPUs shared by server and load generator"
        )
        closed_loop(port, BARE_PATH, warmup, args.concurrency, "warm-b")
        # The warm-up's deliveries are stored and applied too: they count like the others.
        warm = closed_loop(port, WEBHOOK_PATH, warmup, args.concurrency, "warm-w")
        # Interleave two halves so drift (autovacuum, other load) hits both sides alike.
        halves = [total // 2, total - total // 2]
        bare_runs, hook_runs = [], []
        for i, n in enumerate(halves):
            bare_runs.append(closed_loop(port, BARE_PATH, n, args.concurrency, f"b{i}"))
            hook_runs.append(closed_loop(port, WEBHOOK_PATH, n, args.concurrency, f"w{i}"))
        bare, hook = merge(bare_runs), merge(hook_runs)
        print(f"closed loop, {args.concurrency} connections:")
        print(line("  bare insert", bare))
        print(line("  webhook (signed)", hook))
        print(f"  ratio webhook/bare throughput: {hook['rps'] / bare['rps']:.2f} (goal >= 0.80)")
        pace = paced(port, WEBHOOK_PATH, args.rate, paced_seconds, "p", pool=32)
        print(f"paced at {args.rate:.0f} deliveries/s for {paced_seconds:.0f} s:")
        print(line("  webhook (signed)", pace))
        print(f"  p99 at {args.rate:.0f}/s: {pace['p99']:.1f} ms (goal <= 50 ms)")
        # Where the goal rate is beyond capacity the queue grows; show a rate it sustains too.
        half = max(1.0, round(hook["rps"] / 2))
        easy = paced(port, WEBHOOK_PATH, half, paced_seconds, "h", pool=32)
        print(f"paced at {half:.0f} deliveries/s (half the closed-loop throughput):")
        print(line("  webhook (signed)", easy))
        signed = [warm, *hook_runs, pace, easy]
        accepted = sum(r["statuses"].get(202, 0) for r in signed)
        sent = sum(r["count"] for r in signed)
        print(f"  answered 202 to {accepted} of {sent} signed deliveries (warm-up included)")
    finally:
        server_stop(proc)
    try:
        applied, figures = worker_drain(env, accepted)
    finally:
        redis_flush()
    # One line to compare runs (before/after, side by side) without reading the table.
    summary_line = {
        "bench": "webhook",
        "requests": total,
        "bare_rps": round(bare["rps"], 1),
        "webhook_rps": round(hook["rps"], 1),
        "paced_p99_ms": round(pace["p99"], 1),
        **figures,
        "loadavg": loadavg(),
    }
    print(json.dumps(summary_line))
    return 0 if accepted == sent and applied else 1


def outcomes() -> dict[str, int]:
    import psycopg

    with psycopg.connect(DATABASE_URL.replace("postgres://", "postgresql://")) as conn:
        rows = conn.execute(
            "SELECT outcome, count(*) FROM bookings_webhookdelivery "
            "WHERE source = 'boatsetter' GROUP BY outcome"
        ).fetchall()
    return dict(rows)


def worker_drain(env: dict[str, str], accepted: int) -> tuple[bool, dict]:
    """A real worker applies what the server stored; True if every 202 ended accepted."""
    import redis

    from tests.worker import CeleryWorker

    published = redis.Redis.from_url(REDIS_URL).llen(INTAKE_QUEUE)
    queued = outcomes().get("queued", 0)
    print(
        f"stored and waiting: {queued} queued deliveries; {published} drain message(s) were "
        "published for them (at most one per wake-up lease)"
    )
    worker = CeleryWorker(
        broker_url=REDIS_URL,
        database_url=DATABASE_URL,
        fake={"latency": {}},
        queue=INTAKE_QUEUE,
        concurrency=8,
        extra_env={
            "CHARTEROPS_INTAKE_QUEUE": INTAKE_QUEUE,
            # Fan-out messages go to a queue nobody consumes: this measures applying only.
            "CHARTEROPS_FANOUT_QUEUE": "bench-fanout-unconsumed",
            "CHARTEROPS_WEBHOOK_SECRETS_BOATSETTER": SECRET,
            "DATABASE_POOL_MAX_SIZE": "10",
            # As production runs (and the server above): DEBUG off, so no query log.
            "DJANGO_DEBUG": "false",
            "SECRET_KEY": env["SECRET_KEY"],
            "CHARTEROPS_VAR_DIR": env["CHARTEROPS_VAR_DIR"],
        },
    )
    worker.start()
    started = time.perf_counter()
    try:
        deadline = started + max(60.0, queued / 10)
        while outcomes().get("queued", 0) and time.perf_counter() < deadline:
            time.sleep(0.2)
        wall = time.perf_counter() - started
    finally:
        worker.stop()
    final = outcomes()
    applied = queued - final.get("queued", 0)
    print(
        f"worker (threads x8): applied {applied} deliveries in {wall:.1f} s = "
        f"{applied / wall:.0f}/s (goal >= 200/s); outcomes {final}; load average {loadavg()}"
    )
    ok = final.get("accepted", 0) == accepted and not final.get("queued")
    if not ok:
        print(f"  LOST: {accepted} answered 202 but {final.get('accepted', 0)} ended accepted")
    return ok, {
        "applied": applied,
        "apply_wall_s": round(wall, 2),
        "apply_per_s": round(applied / wall, 1),
    }


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages: these figures move with the machine's load."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def merge(runs: list[dict]) -> dict:
    """Combine runs: every latency sample, throughput over the summed wall time."""
    statuses: dict[int, int] = {}
    for r in runs:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    latencies = [x for r in runs for x in r["latencies"]]
    return summary(latencies, statuses, sum(r["wall"] for r in runs))


if __name__ == "__main__":
    raise SystemExit(main())
