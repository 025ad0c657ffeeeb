"""The people a booking's guests meet, as told by the app that knows them.

A hub never imports its spokes, and spokes do not import each other: guest pages show the
captain, crew know who that is. Crew registers a provider here from its ``AppConfig.ready``
(``booking_captain_provider_register``); guest pages ask ``booking_captain``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Booking

__all__ = ["BookingContact", "booking_captain", "booking_captain_provider_register"]


@dataclass(frozen=True)
class BookingContact:
    """A person the guests may call: their name and, if known, their phone."""

    name: str
    phone: str = ""


_captain_provider: list[Callable[[Booking], BookingContact | None]] = []


def booking_captain_provider_register(provider: Callable[[Booking], BookingContact | None]) -> None:
    """Set (or replace) who answers ``booking_captain``. Called from an app's ``ready``."""
    _captain_provider[:] = [provider]


def booking_captain(booking: Booking) -> BookingContact | None:
    """The booking's captain as the guests see them, or None (none yet, or no crew app).

    Reads only; costs what the provider costs (crew's: one query)."""
    return _captain_provider[0](booking) if _captain_provider else None
