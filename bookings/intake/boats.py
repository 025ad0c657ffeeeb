"""Which boat a booking names: ``boat_resolve``, the one rule, and the webhook's cache of it.

The rule: the boat's external (marketplace) id first, then its name (case-insensitive),
among active boats only; of several matches the oldest boat (lowest pk) wins.

The webhook answers an unknown boat or an oversized party with 422 while the sender waits,
but a database query per delivery would cost as much as storing it. Boats change rarely,
so each process keeps their ids, names and capacities in memory: a boat it has not seen is
looked up at once (a new boat is never refused), and the whole index is reloaded after
``TTL_SECONDS`` or when a boat is saved or deleted in this process. The index only decides
what to answer; the worker that applies the delivery resolves the boat again from the
database with :func:`boat_resolve`, so a boat renamed, retired or deleted in another process
meanwhile is caught there.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ..models import Boat, Booking
from .schema import BoatRef, BookingIn, InvalidPayload

TTL_SECONDS = 60.0


@dataclass(frozen=True)
class BoatInfo:
    pk: int
    name: str
    capacity: int


class BoatIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, BoatInfo] = {}
        self._by_name: dict[str, BoatInfo] = {}
        self._loaded_at = float("-inf")

    def find(self, external_id: str = "", name: str = "") -> BoatInfo | None:
        """The active boat by external id, then by name (case-insensitive), as ``boat_resolve``."""
        if time.monotonic() - self._loaded_at > TTL_SECONDS:
            self._load()
        found = self._match(external_id, name)
        if found is None:
            found = self._lookup(external_id, name)
        return found

    def clear(self) -> None:
        with self._lock:
            self._by_id, self._by_name = {}, {}
            self._loaded_at = float("-inf")

    def _match(self, external_id: str, name: str) -> BoatInfo | None:
        return (external_id and self._by_id.get(external_id)) or (
            (name and self._by_name.get(name.casefold())) or None
        )

    def _load(self) -> None:
        rows = list(Boat.objects.filter(active=True).values_list(*_COLUMNS))
        by_id: dict[str, BoatInfo] = {}
        by_name: dict[str, BoatInfo] = {}
        for pk, external_id, name, capacity in sorted(rows):  # lowest pk wins, like .first()
            info = BoatInfo(pk, name, capacity)
            if external_id:
                by_id.setdefault(external_id, info)
            by_name.setdefault(name.casefold(), info)
        with self._lock:
            self._by_id, self._by_name = by_id, by_name
            self._loaded_at = time.monotonic()

    def _lookup(self, external_id: str, name: str) -> BoatInfo | None:
        """A miss: ask the database (another process may have added the boat just now)."""
        match = Q(external_id=external_id) if external_id else Q()
        if name:
            match = (match | Q(name__iexact=name)) if external_id else Q(name__iexact=name)
        if not match:
            return None
        chosen = _best(Boat.objects.filter(match, active=True).values_list(*_COLUMNS), external_id)
        if chosen is None:
            return None
        self._load()  # the fleet changed since the last load: take all of it
        return BoatInfo(chosen[0], chosen[2], chosen[3])


_COLUMNS = ("pk", "external_id", "name", "capacity")


def _best(rows: Any, external_id: str) -> tuple | None:
    """Of the matching rows, an external-id match before a name match, then the lowest pk."""
    rows = list(rows)
    by_id = [r for r in rows if external_id and r[1] == external_id]
    return min(by_id or rows, default=None)


#: boats resolved in the current transaction, while ``boat_resolve_memo`` is on
_memo: contextvars.ContextVar[dict[tuple[str, str], Boat] | None] = contextvars.ContextVar(
    "boat_resolve_memo", default=None
)


@contextlib.contextmanager
def boat_resolve_memo() -> Iterator[None]:
    """Within this block (one transaction: a worker's batch of deliveries) a boat named
    again is not looked up again: the batch sees the fleet as at its first look, as if it
    had run a moment earlier. The foreign key still refuses a boat deleted since."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def boat_resolve(ref: BoatRef) -> Boat:
    """The active boat ``ref`` names: by external id first, then by name (case-insensitive).

    One query (none for a boat already resolved inside ``boat_resolve_memo``). Raises
    InvalidPayload naming ``booking.boat`` when no active boat matches.
    """
    memo = _memo.get()
    if memo is not None and (ref.id, ref.name) in memo:
        return memo[ref.id, ref.name]
    match = Q(external_id=ref.id) if ref.id else Q()
    if ref.name:
        match = (match | Q(name__iexact=ref.name)) if ref.id else Q(name__iexact=ref.name)
    boats = list(Boat.objects.filter(match, active=True)) if match else []
    chosen = _best([(b.pk, b.external_id, b.name, b.capacity, b) for b in boats], ref.id)
    if chosen is None:
        raise unknown_boat(ref)
    if memo is not None:
        memo[ref.id, ref.name] = chosen[-1]
    return chosen[-1]


def unknown_boat(ref: BoatRef) -> InvalidPayload:
    named = " / ".join(
        filter(None, [f"id {ref.id!r}" if ref.id else "", repr(ref.name) if ref.name else ""])
    )
    message = f"unknown boat {named}: no active boat has it; add (or reactivate) it in the admin"
    return InvalidPayload({"booking.boat": [message]})


def booking_payload_precheck(payload: BookingIn) -> None:
    """The boat rules the webhook answers while the sender waits, from the cache.

    Checks an active boat matches and carries the party, against the per-process index; the
    worker applying the event checks everything again against the database
    (``booking_upsert_from_event``). Raises InvalidPayload like the full checks do.
    """
    boat = boat_index.find(payload.boat.id, payload.boat.name)
    if boat is None:
        raise unknown_boat(payload.boat)
    if payload.party_size > boat.capacity:
        raise InvalidPayload(
            {
                "booking.party_size": [
                    Booking.capacity_message(boat.name, boat.capacity, payload.party_size)
                ]
            }
        )


boat_index = BoatIndex()


@receiver(post_save, sender=Boat)
@receiver(post_delete, sender=Boat)
def _boat_changed(**kwargs) -> None:
    boat_index.clear()
