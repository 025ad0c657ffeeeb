"""A per-process index of the fleet, for the webhook's synchronous boat checks.

The webhook answers an unknown boat or an oversized party with 422 while the sender waits,
but a database query per delivery would cost as much as storing it. Boats change rarely,
so each process keeps their ids, names and capacities in memory: a boat it has not seen is
looked up at once (a new boat is never refused), and the whole index is reloaded after
``TTL_SECONDS`` or when a boat is saved or deleted in this process. The index only decides
what to answer; the worker that applies the delivery resolves the boat again from the
database, so a boat renamed or deleted in another process meanwhile is caught there.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ..models import Boat

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
        """The boat by external id, then by name (case-insensitive), as ``boat_resolve`` does."""
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
        rows = list(Boat.objects.values_list("pk", "external_id", "name", "capacity"))
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
        rows = list(Boat.objects.filter(match).values_list("pk", "external_id", "name", "capacity"))
        by_id = [r for r in rows if external_id and r[1] == external_id]
        chosen = min(by_id or rows, default=None)
        if chosen is None:
            return None
        self._load()  # the fleet changed since the last load: take all of it
        return BoatInfo(chosen[0], chosen[2], chosen[3])


boat_index = BoatIndex()


@receiver(post_save, sender=Boat)
@receiver(post_delete, sender=Boat)
def _boat_changed(**kwargs) -> None:
    boat_index.clear()
