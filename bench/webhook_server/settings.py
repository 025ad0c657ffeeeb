"""Benchmark settings: the real settings plus a URLconf that adds the bare-insert baseline."""

from charterops.settings import *  # noqa: F403

ROOT_URLCONF = "bench.webhook_server.urls"
