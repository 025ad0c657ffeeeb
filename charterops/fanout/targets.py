"""What a fan-out target is, how it reports errors, and where the registered ones come from."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from charterops.models import TargetState


class FanoutBooking(Protocol):
    """What the engine and its targets use of a booking, named by its shape.

    At run time it is the model ``TargetState.booking`` points at (``bookings.Booking``):
    the engine reaches that model through the foreign key's metadata, never by importing
    it, so the project package imports no app.
    """

    pk: Any
    version: int
    is_live: bool
    reference: str
    status: str
    target_states: Any  # the related manager of its TargetState rows


class TargetError(Exception):
    """Base of the errors a target raises; the message is shown to staff, keep it actionable."""


class TransientError(TargetError):
    """The outside service may succeed later (HTTP 429/5xx, throttling, timeouts): retry."""

    def __init__(self, message: str, *, retry_after: float | None = None, detail: str = ""):
        super().__init__(message)
        self.retry_after = retry_after
        self.detail = detail


class PermanentError(TargetError):
    """Retrying will not help (bad credentials, 4xx, invalid data): fail the row at once."""

    def __init__(self, message: str, *, detail: str = ""):
        super().__init__(message)
        self.detail = detail


@dataclass
class SyncResult:
    """What a target did: the outside reference it keeps (event id, S3 key) and anything to show."""

    external_ref: str = ""
    skipped: bool = False
    detail: dict[str, Any] = field(default_factory=dict)
    #: done, but with something staff should see on the row (kept as its last error)
    warning: str = ""


@runtime_checkable
class Target(Protocol):
    """One outside place a booking must be true in.

    ``sync`` makes the outside world match the booking as it is now: create or update it
    while the booking is live (confirmed, in progress, completed), remove or unpublish it
    when the booking is cancelled, expired or back to unconfirmed. It must be idempotent:
    a second call with an unchanged booking changes nothing. It raises ``TransientError``
    or ``PermanentError``; any other exception is treated as transient.
    """

    name: str
    #: what staff read for it (``"Guest page"``), and its word in the list's compact badges
    #: (``"Page"``); both optional, read through ``target_label`` and ``target_short``
    label: str
    short: str

    def sync(self, booking: FanoutBooking, *, state: TargetState) -> SyncResult: ...


@cache
def get_targets() -> dict[str, Target]:
    """The registered targets by name, built once from ``CHARTEROPS_FANOUT_TARGETS``."""
    targets: dict[str, Target] = {}
    for name, path in settings.CHARTEROPS_FANOUT_TARGETS.items():
        target = import_string(path) if isinstance(path, str) else path
        if isinstance(target, type):
            target = target()
        target.name = name
        targets[name] = target
    return targets


def target_label(name: str) -> str:
    """What staff read for the target ``name``: its ``label``, or its name as words."""
    target = get_targets().get(name)
    return getattr(target, "label", None) or name.replace("_", " ").capitalize()


def target_short(name: str) -> str:
    """The target's word in the booking list's compact badges (its ``short``)."""
    target = get_targets().get(name)
    return getattr(target, "short", None) or target_label(name)[:5]


def target_choices() -> list[tuple[str, str]]:
    """The configured targets as (name, label), in their order: the list filters' choices."""
    return [(name, target_label(name)) for name in get_targets()]


def get_target(name: str) -> Target:
    try:
        return get_targets()[name]
    except KeyError:
        raise PermanentError(f"No fan-out target named {name!r} is registered.") from None


@receiver(setting_changed)
def _reset_targets(*, setting: str, **kwargs: Any) -> None:
    if setting == "CHARTEROPS_FANOUT_TARGETS":
        get_targets.cache_clear()
