"""Wake a queue-draining task without publishing one Celery message per item.

Some work is queued as database rows (webhook deliveries) and applied by a task that drains
them. The producer only has to make sure *a* drain runs after its row committed:
``task_wake`` sets a Redis flag with SET NX and publishes the task only when the flag was
not already set; the drain calls ``wake_clear`` before it looks for rows. A row committed
before the clear is found by that drain; one committed after it sets the flag anew and
publishes another drain. Under load one message covers many rows, which matters because a
Celery publish costs more CPU than the row's INSERT.

The flag expires after ``ttl`` seconds, so a lost message delays work by at most that long;
a periodic run of the drain (beat) is the backstop for a Redis or broker outage. With the
broker not on Redis, or tasks running in-process (eager), every wake publishes.
"""

from __future__ import annotations

import functools
import logging

import redis
from celery import Task
from redis.backoff import NoBackoff
from redis.retry import Retry

from charterops.celery import app

log = logging.getLogger(__name__)


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


def task_wake(task: Task, *, flag: str, queue: str = "", ttl: int = 60) -> bool:
    """Publish ``task`` (on ``queue``, or the default queue) unless a publish flagged ``flag``
    is still pending; True if published.

    Never raises: the caller's row is committed already, and the periodic drain finds it
    if Redis or the broker is down (logged).
    """
    try:
        client = flag_client()
        if client is not None and not client.set(flag, "1", nx=True, ex=ttl):
            return False
        task.apply_async(queue=queue or None)
        return True
    except Exception:
        log.exception("could not wake %s; the periodic run will pick the work up", task.name)
        return False


def wake_clear(flag: str) -> None:
    """Called by the drain before it looks for work (see the module docstring).

    Never raises: with Redis down the flag cannot mute anyone, and the work is done anyway.
    """
    try:
        client = flag_client()
        if client is not None:
            client.delete(flag)
    except Exception:
        log.warning("could not clear the wake-up flag %s", flag, exc_info=True)
