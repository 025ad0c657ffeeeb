"""Calendar feed benchmark: what a calendar app's poll costs as the number of charters grows.

Builds a throwaway SQLite database under ``var/bench-calendar/`` (in-process cache), syncs N
bookings through the calendar target (local backend), then requests the feed through
Django's test client and prints, per N: the cold render (cache miss), a cached poll, a
conditional poll answered 304, the SQL queries of each, and the body size.

    uv run python bench/calendar_feed.py            # N = 100, 500, 2000
    uv run python bench/calendar_feed.py --quick    # N = 100, 500
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VAR = ROOT / "var" / "bench-calendar"


def _setup() -> None:
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "charterops.settings",
            "CHARTEROPS_VAR_DIR": str(VAR),
            "DATABASE_URL": f"sqlite:///{VAR / 'bench.sqlite3'}",
            "CACHE_URL": "locmemcache://bench-calendar",
            "CELERY_BROKER_URL": "",
            "CHARTEROPS_CALENDAR_BACKEND": "local",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _timed(fn, repeat: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [100, 500] if args.quick else [100, 500, 2000]
    _setup()

    from datetime import timedelta
    from decimal import Decimal

    from django.core.cache import cache
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bookings.calendar import CalendarTarget
    from bookings.calendar.feed import calendar_feed_token_issue
    from bookings.models import Boat, Booking

    # Django clears the query log when a request starts; keep it so the count covers the request.
    request_started.disconnect(reset_queries)
    boat = Boat.objects.create(name="Jada", slug="jada", capacity=12)
    token = calendar_feed_token_issue(boat=None)
    client = Client()
    path = f"/calendar/{token.token}.ics"
    target = CalendarTarget()
    made = 0
    print(
        f"{'charters':>8} {'cold ms':>8} {'cached ms':>9} {'304 ms':>7} {'queries':>13} {'KiB':>6}"
    )
    for size in sizes:
        start = timezone.now() - timedelta(days=20)
        while made < size:
            booking = Booking.objects.create(
                external_id=f"BS-{5000000 + made}",
                boat=boat,
                start=start + timedelta(hours=6 * made),
                end=start + timedelta(hours=6 * made + 4),
                guest_name=f"Guest {made}",
                guest_email=f"guest{made}@example.com",
                meeting_point="Harbor Island West Marina, dock C",
                party_size=6,
                boat_price=Decimal("950.00"),
            )
            target.sync(booking, state=None)
            made += 1

        def cold():
            cache.clear()
            return client.get(path)

        cold_ms, response = _timed(cold, 5)
        with CaptureQueriesContext(connection) as q_cold:
            cold()
        cached_ms, _ = _timed(lambda: client.get(path), 20)
        with CaptureQueriesContext(connection) as q_cached:
            client.get(path)
        etag = response["ETag"]
        not_modified_ms, nm = _timed(lambda e=etag: client.get(path, HTTP_IF_NONE_MATCH=e), 20)
        assert nm.status_code == 304, nm.status_code
        queries = f"{len(q_cold.captured_queries)}/{len(q_cached.captured_queries)}"
        print(
            f"{size:>8} {cold_ms:>8.1f} {cached_ms:>9.2f} {not_modified_ms:>7.2f} "
            f"{queries + ' (cold/hit)':>13} {len(response.content) / 1024:>6.0f}"
        )


if __name__ == "__main__":
    main()
