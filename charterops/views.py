"""Project-level views: the probes live in ``charterops.health`` (answered by its middleware)."""

from charterops.health import healthz, readyz

__all__ = ["healthz", "readyz"]
