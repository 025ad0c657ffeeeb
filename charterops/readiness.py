"""Readiness checks: facts one app knows that another app's checklist ticks itself from.

A hub never imports its spokes, and spokes do not import each other: guest pages know
whether every waiver is signed, crew own the checklist. Guest pages register a check here
(``readiness_check_register``, from their ``AppConfig.ready``); crew scaffold one required
pre-charter item per registered check and tick or untick it when the check's answer changes.
Whoever changes the facts calls ``booking_readiness_changed`` inside its transaction; the
listeners (crew's checklist) run after commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.dispatch import Signal

#: a booking (``bookings.Booking``): the hub names its spokes' models by role, not by import
Booking = Any

__all__ = [
    "READINESS_CHECKS",
    "ReadinessCheck",
    "ReadinessState",
    "booking_readiness_changed",
    "readiness_changed",
    "readiness_check_register",
]


@dataclass(frozen=True)
class ReadinessState:
    met: bool
    label: str = ""


@dataclass(frozen=True)
class ReadinessCheck:
    """``key`` names the checklist item it ticks; ``text`` is the item's text; ``state``
    answers for one booking; ``crew_template`` / ``crew_context`` (optional) add a section to
    the crew's charter page."""

    key: str
    text: str
    state: Callable[[Booking], ReadinessState]
    crew_template: str = ""
    crew_context: Callable[[Booking], dict[str, Any]] | None = None


READINESS_CHECKS: dict[str, ReadinessCheck] = {}

#: sent after commit with ``booking_id`` when a registered check's facts may have changed
readiness_changed = Signal()


def readiness_check_register(check: ReadinessCheck) -> None:
    """Register (or replace, by key) a check. Called from an app's ``ready``."""
    READINESS_CHECKS[check.key] = check


def booking_readiness_changed(booking: Booking) -> None:
    """Tell the listeners, after commit, that the booking's readiness facts changed."""
    booking_id = booking.pk
    transaction.on_commit(lambda: readiness_changed.send(sender=None, booking_id=booking_id))
