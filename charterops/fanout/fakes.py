"""Fake targets for tests and benchmarks: a configurable latency, injected failures, and an
"outside world" that counts creations so duplicate external effects can be detected.

Selected with the ``CHARTEROPS_FANOUT_FAKE`` variable (JSON, parsed by settings into the
setting of that name), which works across processes (a real worker):
``{"latency": {"calendar": 0.4}, "fail_transient": {"calendar": 3}, "fail_permanent": {},
"effect_then_sleep": false, "store": "redis://127.0.0.1:6379/15", "namespace": "run-1"}``.
Without ``store`` the outside world is a dict in this process.
"""

from __future__ import annotations

import threading
import time
from functools import cache
from typing import Any

from django.conf import settings

from .targets import PermanentError, SyncResult, TransientError

_LOCAL: dict[str, int] = {}
_LOCAL_LOCK = threading.Lock()


def fake_config() -> dict[str, Any]:
    """The fakes' configuration (``settings.CHARTEROPS_FANOUT_FAKE``); empty: no latency, no failure."""
    return settings.CHARTEROPS_FANOUT_FAKE or {}


@cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url)


class FakeWorld:
    """Keys: ``<ns>:<target>:<booking>`` -> version; counters ``...:creations|updates|attempts``."""

    def __init__(self, config: dict[str, Any]):
        self.ns = config.get("namespace", "fake")
        self.url = config.get("store")

    def _key(self, *parts: Any) -> str:
        return ":".join([self.ns, *map(str, parts)])

    def incr(self, *parts: Any) -> int:
        key = self._key(*parts)
        if self.url:
            return int(_redis(self.url).incr(key))
        with _LOCAL_LOCK:
            _LOCAL[key] = _LOCAL.get(key, 0) + 1
            return _LOCAL[key]

    def get(self, *parts: Any) -> int:
        key = self._key(*parts)
        if self.url:
            return int(_redis(self.url).get(key) or 0)
        return _LOCAL.get(key, 0)

    def put(self, target: str, booking_id: int, version: int) -> bool:
        """Create or update the outside object; True when it was created (like an insert)."""
        key = self._key(target, booking_id)
        if self.url:
            created = bool(_redis(self.url).set(key, version, nx=True))
            if not created:
                _redis(self.url).set(key, version)
        else:
            with _LOCAL_LOCK:
                created = key not in _LOCAL
                _LOCAL[key] = version
        self.incr(target, booking_id, "creations" if created else "updates")
        return created

    def delete(self, target: str, booking_id: int) -> None:
        key = self._key(target, booking_id)
        if self.url:
            _redis(self.url).delete(key)
        else:
            _LOCAL.pop(key, None)

    def clear(self) -> None:
        if self.url:
            r = _redis(self.url)
            for key in r.scan_iter(f"{self.ns}:*"):
                r.delete(key)
        else:
            _LOCAL.clear()


class FakeTarget:
    """Idempotent like a client-chosen-id API: the second put of the same booking is an update."""

    name = "fake"

    def sync(self, booking, *, state) -> SyncResult:
        config = fake_config()
        world = FakeWorld(config)
        attempt = world.incr(self.name, booking.pk, "attempts")
        if attempt <= int(config.get("fail_transient", {}).get(self.name, 0)):
            raise TransientError(f"fake {self.name}: HTTP 503 (attempt {attempt})")
        if config.get("fail_permanent", {}).get(self.name):
            raise PermanentError(f"fake {self.name}: HTTP 403, calendar not shared")
        latency = float(config.get("latency", {}).get(self.name, 0))
        if config.get("effect_then_sleep"):
            self._effect(world, booking)
            time.sleep(latency)
        else:
            time.sleep(latency)
            self._effect(world, booking)
        return SyncResult(external_ref=f"fake-{self.name}-{booking.pk}")

    def _effect(self, world: FakeWorld, booking) -> None:
        if booking.is_live:
            world.put(self.name, booking.pk, booking.version)
        else:
            world.delete(self.name, booking.pk)
