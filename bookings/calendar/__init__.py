"""The calendar target: models, the target, the Google adapter, the iCalendar feed, drift, admin.

``bookings.calendar.CalendarTarget`` is resolved lazily (kept until bench/ is free to import
``bookings.calendar.target``; issue 19): importing it here eagerly would import the target's
models while ``bookings/models.py`` is still loading.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "CalendarTarget":
        from .target import CalendarTarget

        return CalendarTarget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
