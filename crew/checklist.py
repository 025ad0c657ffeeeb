"""Charter checklists: scaffolded from the boat's template (the fan-out target), ticked by crew.

Ticks are single-row conditional UPDATEs, never a read-modify-write of the whole list, so two
crew ticking different items at the same moment both keep their work, and two ticking the
same item keep the first tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.dispatch import receiver
from django.utils import timezone

from bookings.models import Booking
from charterops.audit import audit_log
from charterops.fanout.targets import SyncResult
from charterops.readiness import READINESS_CHECKS, readiness_changed

from .models import ChecklistItem, ChecklistTemplate, CrewMember, Phase

NOTE_MAX = 300


def checklist_template_for(booking: Booking) -> ChecklistTemplate | None:
    """The boat's own template, else the default one (no boat)."""
    return (
        ChecklistTemplate.objects.filter(boat=booking.boat_id).first()
        or ChecklistTemplate.objects.filter(boat__isnull=True).order_by("pk").first()
    )


#: where the self-ticking items go: after the template's pre-charter items
AUTO_POSITION = 900


def checklist_scaffold(booking: Booking) -> int:
    """Copy template items the booking does not have yet, plus one required pre-charter item
    per registered readiness check (``charterops.readiness``). Idempotent; returns how many
    were added."""
    template = checklist_template_for(booking)
    if template is None:
        return 0
    added = _auto_items_scaffold(booking)
    have = set(
        ChecklistItem.objects.filter(booking=booking).values_list("template_item_id", flat=True)
    )
    new = [
        ChecklistItem(
            booking=booking,
            template_item=item,
            phase=item.phase,
            text=item.text,
            required=item.required,
            position=item.position,
        )
        for item in template.items.all()
        if item.pk not in have
    ]
    ChecklistItem.objects.bulk_create(new, ignore_conflicts=True)
    return len(new) + added


def _auto_items_scaffold(booking: Booking) -> int:
    have = set(
        ChecklistItem.objects.filter(booking=booking)
        .exclude(auto_key="")
        .values_list("auto_key", flat=True)
    )
    new = [
        ChecklistItem(
            booking=booking,
            phase=Phase.PRE,
            text=check.text,
            required=True,
            position=AUTO_POSITION + n,
            auto_key=key,
        )
        for n, (key, check) in enumerate(sorted(READINESS_CHECKS.items()))
        if key not in have
    ]
    ChecklistItem.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def checklist_auto_sync(booking: Booking) -> int:
    """Tick (or untick) each self-ticking item of the booking from its readiness check.

    Conditional single-row UPDATEs: ticked once with the check's label as note, unticked if
    the check stops holding (a bigger party). One audit row per change; idempotent. Returns
    how many items changed.
    """
    changed = 0
    items = ChecklistItem.objects.filter(booking=booking).exclude(auto_key="")
    for item in items:
        check = READINESS_CHECKS.get(item.auto_key)
        if check is None:
            continue
        state = check.state(booking)
        with transaction.atomic():
            rows = ChecklistItem.objects.filter(pk=item.pk)
            if state.met:
                done = rows.filter(done_at__isnull=True).update(
                    done_at=timezone.now(), done_by=None, note=state.label[:NOTE_MAX]
                )
                action = "auto_completed"
            else:
                done = rows.filter(done_at__isnull=False).update(
                    done_at=None, done_by=None, note=state.label[:NOTE_MAX]
                )
                action = "auto_uncompleted"
            if done:
                changed += 1
                audit_log(
                    f"crew.checklist_item.{action}",
                    item,
                    booking=booking,
                    data={"check": item.auto_key, "state": state.label},
                )
    return changed


@receiver(readiness_changed)
def _readiness_changed(sender: Any, *, booking_id: int, **kwargs: Any) -> None:
    booking = Booking.objects.filter(pk=booking_id).first()
    if booking is not None:
        checklist_auto_sync(booking)


class ChecklistTarget:
    """Scaffolds the checklist of live bookings; ticks already made are kept on cancellation."""

    name = "checklist"
    label = "Checklist"
    short = "List"

    def sync(self, booking: Booking, *, state) -> SyncResult:
        if not booking.is_live:
            return SyncResult(skipped=True)
        added = checklist_scaffold(booking)
        checklist_auto_sync(booking)  # the party may have grown: "All waivers signed" unticks
        total = ChecklistItem.objects.filter(booking=booking).count()
        return SyncResult(external_ref=f"{total} items", detail={"added": added})


# --- Ticking ---------------------------------------------------------------------------------


def checklist_item_complete(
    item: ChecklistItem, *, member: CrewMember, note: str = "", actor: Any = None
) -> bool:
    """Tick ``item`` as done by ``member`` now, with an optional note. Returns whether it changed.

    Only this row is written, with a conditional UPDATE: an item already ticked keeps who
    and when it was first ticked (idempotent; a second tick only replaces a non-empty note).
    One transaction, one audit row per change (``crew.checklist_item.completed``).
    """
    note = (note or "").strip()[:NOTE_MAX]
    with transaction.atomic():
        now = timezone.now()
        rows = ChecklistItem.objects.filter(pk=item.pk)
        ticked = rows.filter(done_at__isnull=True).update(done_by=member, done_at=now, note=note)
        if ticked:
            item.done_by, item.done_at, item.note = member, now, note
            action = "completed"
        elif note and rows.exclude(note=note).update(note=note):
            item.note = note
            action = "noted"
        else:
            item.refresh_from_db(fields=["done_by", "done_at", "note"])
            return False
        audit_log(
            f"crew.checklist_item.{action}",
            item,
            actor=actor or member.user,
            booking=item.booking,
            data={"member": member.pk, "note": note},
        )
    return True


def checklist_item_uncomplete(
    item: ChecklistItem, *, member: CrewMember, actor: Any = None
) -> bool:
    """Clear the tick of ``item`` (a mistake on the dock). Idempotent; returns whether it changed.

    The note is kept so that the reason for un-ticking can be read. One audit row per change.
    """
    with transaction.atomic():
        cleared = ChecklistItem.objects.filter(pk=item.pk, done_at__isnull=False).update(
            done_by=None, done_at=None
        )
        if not cleared:
            item.refresh_from_db(fields=["done_by", "done_at", "note"])
            return False
        item.done_by = item.done_at = None
        audit_log(
            "crew.checklist_item.uncompleted",
            item,
            actor=actor or member.user,
            booking=item.booking,
            data={"member": member.pk},
        )
    return True


# --- Progress --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistProgress:
    done: int = 0
    total: int = 0
    required_done: int = 0
    required_total: int = 0
    pre_required_done: int = 0
    pre_required_total: int = 0

    @property
    def ready(self) -> bool:
        """Every required pre-charter item is ticked (and there is a checklist at all)."""
        return self.total > 0 and self.pre_required_done == self.pre_required_total

    @property
    def required_complete(self) -> bool:
        return self.required_done == self.required_total

    def __str__(self) -> str:
        if not self.total:
            return "no checklist"
        required = (
            "required done"
            if self.required_complete
            else (f"{self.required_total - self.required_done} required open")
        )
        return f"{self.done}/{self.total} · {required}"


_DONE = Q(checklist_items__done_at__isnull=False)
_REQUIRED = Q(checklist_items__required=True)
_PRE_REQUIRED = _REQUIRED & Q(checklist_items__phase=Phase.PRE)
PROGRESS_ANNOTATIONS = {
    "cl_total": Count("checklist_items"),
    "cl_done": Count("checklist_items", filter=_DONE),
    "cl_required_total": Count("checklist_items", filter=_REQUIRED),
    "cl_required_done": Count("checklist_items", filter=_REQUIRED & _DONE),
    "cl_pre_required_total": Count("checklist_items", filter=_PRE_REQUIRED),
    "cl_pre_required_done": Count("checklist_items", filter=_PRE_REQUIRED & _DONE),
}


def bookings_with_checklist_progress(queryset: QuerySet[Booking]) -> QuerySet[Booking]:
    """Annotate each booking with its checklist counts in the same query.

    Only for short querysets: the annotation joins every checklist item of every booking the
    query touches before it sorts and limits. For a page of a list, use
    ``checklist_progress_attach`` on the page's bookings instead.
    """
    return queryset.annotate(**PROGRESS_ANNOTATIONS)


_ITEM_DONE = Q(done_at__isnull=False)
_ITEM_REQUIRED = Q(required=True)
_ITEM_PRE_REQUIRED = _ITEM_REQUIRED & Q(phase=Phase.PRE)
_ITEM_COUNTS = {
    "cl_total": Count("pk"),
    "cl_done": Count("pk", filter=_ITEM_DONE),
    "cl_required_total": Count("pk", filter=_ITEM_REQUIRED),
    "cl_required_done": Count("pk", filter=_ITEM_REQUIRED & _ITEM_DONE),
    "cl_pre_required_total": Count("pk", filter=_ITEM_PRE_REQUIRED),
    "cl_pre_required_done": Count("pk", filter=_ITEM_PRE_REQUIRED & _ITEM_DONE),
}


def checklist_progress_attach(bookings: list[Booking]) -> list[Booking]:
    """Set the progress counts on already-loaded bookings, in one query for all of them.

    The query reads only these bookings' items (the ``booking_id`` index), so a list page
    costs the same whatever the size of the table. Returns the same list; read the counts
    with ``checklist_progress``.
    """
    if not bookings:
        return bookings
    rows = (
        ChecklistItem.objects.filter(booking_id__in=[b.pk for b in bookings])
        .order_by()
        .values("booking_id")
        .annotate(**_ITEM_COUNTS)
    )
    counts = {row.pop("booking_id"): row for row in rows}
    for booking in bookings:
        found = counts.get(booking.pk, {})
        for name in _ITEM_COUNTS:
            setattr(booking, name, found.get(name, 0))
    return bookings


def checklist_progress(booking: Booking) -> ChecklistProgress:
    """The booking's progress: from annotations when present, else one aggregate query."""
    if hasattr(booking, "cl_total"):
        counts = {name: getattr(booking, name) for name in PROGRESS_ANNOTATIONS}
    else:
        counts = ChecklistItem.objects.filter(booking_id=booking.pk).aggregate(**_ITEM_COUNTS)
    return ChecklistProgress(**{name.removeprefix("cl_"): counts[name] or 0 for name in counts})


def checklist_progress_of(items: list[ChecklistItem]) -> ChecklistProgress:
    """Progress of already-loaded items (the crew page has them): no query."""
    required = [i for i in items if i.required]
    pre_required = [i for i in required if i.phase == Phase.PRE]
    return ChecklistProgress(
        done=sum(i.done for i in items),
        total=len(items),
        required_done=sum(i.done for i in required),
        required_total=len(required),
        pre_required_done=sum(i.done for i in pre_required),
        pre_required_total=len(pre_required),
    )
