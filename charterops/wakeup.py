"""Wake a queue-draining task without a Redis call, let alone a Celery message, per item.

Some work is queued as database rows (webhook deliveries) and applied by a task that drains
them. A producer, after its row committed, only has to be sure that *some* drain will look
at the queue later. This module does that with a short lease in Redis:

- ``task_wake`` sets the flag with ``SET NX PX=lease`` to a fresh token and, when it set
  it, publishes the drain with that token. The drain keeps looking at the queue while its
  token is in the flag, then looks one last time after the flag is gone, and exits.
- Any row committed while a lease is alive is therefore seen by that lease's drain. So a
  process that knows a lease is alive (it set it, or read its remaining time) skips Redis
  until shortly before that lease ends: under load, each web process talks to Redis about
  once per lease instead of once per request, which matters because a Redis round trip
  costs a tenth of the request's CPU and a Celery publish more than its INSERT.
- Times are measured from before each Redis command was sent, less a margin, so a
  process never believes in a lease longer than Redis keeps it.

A lost message or a Redis or broker outage leaves rows queued until the periodic run of the
drain (beat), which takes no token and simply drains. With the broker not on Redis, or
tasks running in-process (eager), every wake publishes.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid

import redis
from celery import Task
from redis.backoff import NoBackoff
from redis.retry import Retry

from charterops.celery import app

log = logging.getLogger(__name__)

#: How long a drain watches the queue after it was woken; also how often each web process
#: calls Redis under load.
LEASE_SECONDS = 2.0
#: Safety margin for the time between a command's sending and Redis executing it.
MARGIN_SECONDS = 0.25

# flag -> time.monotonic() until which this process knows a lease covers new rows
_known_leases: dict[str, float] = {}


@functools.cache
def _client(url: str) -> redis.Redis:
    # One client (and connection pool) per process: building a client costs more than a command.
    # No retries: a webhook must not wait seconds on a Redis outage; beat's run is the retry.
    return redis.Redis.from_url(
        url, socket_timeout=1.0, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 0)
    )


def flag_client() -> redis.Redis | None:
    """The broker's Redis when tasks go through Redis; None when every wake publishes."""
    url = str(app.conf.broker_url or "")
    if app.conf.task_always_eager or not url.startswith(("redis://", "rediss://")):
        return None
    return _client(url)


def task_wake(task: Task, *, flag: str, queue: str = "", lease: float = LEASE_SECONDS) -> bool:
    """Make sure ``task`` looks at the queue after now; True if this call published it.

    The task is called with ``lease_token=`` (None when every wake publishes). Never raises:
    the caller's row is committed already, and the periodic drain finds it if Redis or the
    broker is down (logged).
    """
    if _known_leases.get(flag, 0.0) > time.monotonic():  # the hot path: no I/O at all
        return False
    try:
        client = flag_client()
        if client is None:
            task.apply_async(kwargs={"lease_token": None}, queue=queue or None)
            return True
        for _ in range(2):  # twice: the lease may end between SET and PTTL
            sent = time.monotonic()
            token = uuid.uuid4().hex
            if client.set(flag, token, nx=True, px=int(lease * 1000)):
                _known_leases[flag] = sent + lease - MARGIN_SECONDS
                task.apply_async(kwargs={"lease_token": token}, queue=queue or None)
                return True
            sent = time.monotonic()
            remaining = client.pttl(flag)
            if remaining > 0:
                _known_leases[flag] = sent + remaining / 1000 - MARGIN_SECONDS
                return False
        return False
    except Exception:
        log.exception("could not wake %s; the periodic run will pick the work up", task.name)
        return False


def lease_alive(flag: str, token: str | None) -> bool:
    """Whether the drain woken with ``token`` must keep watching (its lease still holds).

    False without a token (a periodic or in-process run) and when Redis cannot be asked: the
    drain then finishes what it sees, and beat's next run covers the rest.
    """
    if token is None:
        return False
    try:
        client = flag_client()
        return client is not None and client.get(flag) == token.encode()
    except Exception:
        log.warning("could not read the wake-up lease %s", flag, exc_info=True)
        return False


def known_leases_forget() -> None:
    """Forget what this process knows of leases (tests; a Redis that was flushed)."""
    _known_leases.clear()
