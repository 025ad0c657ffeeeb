"""Finding where the calendar and the bookings disagree, and repairing it through the engine.

The check lists the calendar's events in a date range (Google's, or the local entries) and
compares them with the live bookings starting in that range:

- **missing**: a live booking has no event with its id;
- **stale**: the event's time or title differs from the booking's;
- **orphan**: an event carrying CharterOps' marker whose booking is gone or no longer live;
- **duplicate**: a second event carrying a booking's marker under another id.

Events without CharterOps' marker or id (someone's dentist appointment) are never touched.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from charterops.audit import audit_log
from charterops.fanout.engine import booking_fanout_retry
from charterops.models import TargetState

from ..models import Booking
from .models import CalendarDrift, CalendarEntry
from .target import (
    MARKER,
    PACIFIC,
    CalendarTarget,
    calendar_event_id,
    calendar_event_summary,
    calendar_event_times,
    google_calendar_id,
)

if TYPE_CHECKING:
    from .google import CalendarClient

Kind = CalendarDrift.Kind


@dataclass
class Finding:
    kind: str
    message: str
    booking: Booking | None = None
    event_id: str = ""


@dataclass
class ReconcileReport:
    backend: str
    start: date
    end: date
    events_seen: int = 0
    bookings_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    fixed: bool = False
    requeued_bookings: list[int] = field(default_factory=list)
    deleted_events: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "events_seen": self.events_seen,
            "bookings_checked": self.bookings_checked,
            "findings": [
                {
                    "kind": f.kind,
                    "booking": f.booking.reference if f.booking else None,
                    "event_id": f.event_id,
                    "message": f.message,
                }
                for f in self.findings
            ],
            "fixed": self.fixed,
            "requeued_bookings": self.requeued_bookings,
            "deleted_events": self.deleted_events,
        }


#: the window a run checks unless told otherwise: yesterday to 120 days ahead (Pacific days)
DAYS_BACK, DAYS_AHEAD = 1, 120


def calendar_reconcile_window(
    start: date | None = None, end: date | None = None
) -> tuple[date, date]:
    """The days a run checks: the given ones, else the default window. Pure.

    Raises ``ValueError`` when ``end`` is before ``start``.
    """
    today = timezone.localdate()
    start = start or today - timedelta(days=DAYS_BACK)
    end = end or today + timedelta(days=DAYS_AHEAD)
    if end < start:
        raise ValueError("the end of the window is before its start")
    return start, end


def calendar_reconcile(
    *,
    start: date,
    end: date,
    fix: bool = False,
    actor: Any = None,
    client: CalendarClient | None = None,
) -> ReconcileReport:
    """Check the calendar against the bookings starting in [start, end], record the findings
    (they replace the previous run's open findings, shown in the admin) and, with ``fix``,
    repair them: bookings are re-synced by the engine (``booking_fanout_retry``), events of
    no booking and duplicates are deleted. Idempotent: a second run after a fix finds nothing.
    """
    backend = settings.CHARTEROPS_CALENDAR_BACKEND
    lo = datetime.combine(start, time.min, tzinfo=PACIFIC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=PACIFIC)
    if backend == "google":
        calendar_id = google_calendar_id()
        client = client or _registered_client()
        events = list(client.events_list(calendar_id, time_min=lo, time_max=hi))
        expected_id = calendar_event_id
    else:
        calendar_id = ""
        events = _local_events(lo, hi)
        expected_id = _local_uid
    report = ReconcileReport(backend=backend, start=start, end=end, events_seen=len(events))
    report.findings = calendar_drift_check(events, lo=lo, hi=hi, expected_id=expected_id)
    report.bookings_checked = _live_in_range(lo, hi).count()
    rows = calendar_drift_record(report.findings, backend=backend)
    if fix and report.findings:
        calendar_drift_fix(report, rows, actor=actor, client=client, calendar_id=calendar_id)
    return report


def calendar_drift_check(
    events: list[dict[str, Any]], *, lo: datetime, hi: datetime, expected_id: Any
) -> list[Finding]:
    """Compare Google-shaped events with the live bookings starting in [lo, hi). Read-only."""
    bookings = {b.pk: b for b in _live_in_range(lo, hi)}
    by_id = {expected_id(b): b for b in bookings.values()}
    ours: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        owner = _marker(event)
        if owner is None and event.get("id") in by_id:
            owner = by_id[event["id"]].pk
        if owner is not None or event.get("id") in by_id:
            ours[owner].append(event)

    # Events of bookings outside the range or not live: look those bookings up in one query.
    others = {
        b.pk: b
        for b in Booking.objects.filter(
            pk__in=[k for k in ours if k not in bookings]
        ).select_related("boat")
    }
    findings: list[Finding] = []
    for pk, booking in sorted(bookings.items(), key=lambda kv: kv[1].start):
        findings += _booking_findings(booking, ours.get(pk, []), expected_id(booking))
    for pk, found in ours.items():
        if pk in bookings:
            continue
        booking = others.get(pk)
        for event in found:
            if booking is None:
                findings.append(
                    Finding(
                        Kind.ORPHAN,
                        f"{event.get('summary', '')!r}: its booking #{pk} no longer exists",
                        None,
                        event["id"],
                    )
                )
            elif not booking.is_live:
                findings.append(
                    Finding(
                        Kind.ORPHAN,
                        f"{booking.reference} is {booking.get_status_display().lower()} "
                        "but its event is still on the calendar",
                        booking,
                        event["id"],
                    )
                )
            elif event["id"] == expected_id(booking):
                findings.append(
                    Finding(
                        Kind.STALE,
                        f"{booking.reference} now starts "
                        f"{timezone.localtime(booking.start):%Y-%m-%d %H:%M}; "
                        "its event is still in this range",
                        booking,
                        event["id"],
                    )
                )
            else:
                findings.append(
                    Finding(
                        Kind.DUPLICATE,
                        f"{booking.reference} has a second event",
                        booking,
                        event["id"],
                    )
                )
    return findings


def _booking_findings(
    booking: Booking, events: list[dict[str, Any]], event_id: str
) -> list[Finding]:
    findings = []
    canonical = next((e for e in events if e.get("id") == event_id), None)
    if canonical is None:
        findings.append(
            Finding(Kind.MISSING, f"{booking.reference} has no calendar event", booking, event_id)
        )
    else:
        diffs = []
        summary = calendar_event_summary(booking)
        if canonical.get("summary", "") != summary:
            diffs.append(f"title {canonical.get('summary', '')!r}, expected {summary!r}")
        want = _times_key(*calendar_event_times(booking))
        have = _times_key(canonical.get("start", {}), canonical.get("end", {}))
        if want != have:
            diffs.append(f"time {have[0]}–{have[1]}, expected {want[0]}–{want[1]}")
        if diffs:
            findings.append(
                Finding(Kind.STALE, f"{booking.reference}: " + "; ".join(diffs), booking, event_id)
            )
    for extra in events:
        if extra is not canonical:
            findings.append(
                Finding(
                    Kind.DUPLICATE,
                    f"{booking.reference} has a second event ({extra.get('summary', '')!r})",
                    booking,
                    extra["id"],
                )
            )
    return findings


def calendar_drift_record(findings: list[Finding], *, backend: str) -> list[CalendarDrift]:
    """Replace the backend's open findings with these (one transaction)."""
    now = timezone.now()
    with transaction.atomic():
        CalendarDrift.objects.filter(backend=backend, fixed_at__isnull=True).delete()
        return CalendarDrift.objects.bulk_create(
            CalendarDrift(
                kind=f.kind,
                backend=backend,
                booking=f.booking,
                event_id=f.event_id[:1024],
                message=f.message[:500],
                found_at=now,
            )
            for f in findings
        )


def calendar_drift_fix(
    report: ReconcileReport,
    rows: list[CalendarDrift],
    *,
    actor: Any = None,
    client: CalendarClient | None = None,
    calendar_id: str = "",
) -> None:
    """Repair the findings: re-sync their bookings through the engine (once per booking);
    delete duplicates and events whose booking is gone or was never synced. Audited. The
    engine's own retries cover transient failures; a delete that finds nothing is done.
    """
    from .google import EventNotFound

    synced = set(
        TargetState.objects.filter(
            booking__in=[f.booking for f in report.findings if f.booking is not None],
            target="calendar",
        ).values_list("booking_id", flat=True)
    )
    requeue: dict[int, Booking] = {}
    for finding in report.findings:
        booking = finding.booking
        engine_can = booking is not None and (booking.is_live or booking.pk in synced)
        if finding.kind != Kind.DUPLICATE and engine_can:
            requeue[booking.pk] = booking
        elif client is not None and finding.event_id:
            with contextlib.suppress(EventNotFound):  # gone already: done
                client.event_delete(calendar_id, finding.event_id)
            report.deleted_events.append(finding.event_id)
        elif booking is not None:
            # Local backend: an entry of a booking the engine never ran for.
            CalendarEntry.objects.filter(booking=booking, cancelled=False).update(
                cancelled=True, sequence=F("sequence") + 1, updated_at=timezone.now()
            )
    for booking in requeue.values():
        booking_fanout_retry(booking, actor=actor, only_failed=False)
    report.requeued_bookings = sorted(requeue)
    report.fixed = True
    CalendarDrift.objects.filter(pk__in=[r.pk for r in rows]).update(fixed_at=timezone.now())
    audit_log(
        "bookings.calendar.reconciled",
        None,
        actor=actor or "calendar_reconcile",
        data={
            "backend": report.backend,
            "findings": len(report.findings),
            "requeued": report.requeued_bookings,
            "deleted": report.deleted_events,
        },
    )


# -- helpers -------------------------------------------------------------------------------
def _registered_client() -> CalendarClient:
    """The client of the registered calendar target, so the check sees what the engine writes."""
    from charterops.fanout.targets import get_target

    target = get_target("calendar")
    if not isinstance(target, CalendarTarget):
        target = CalendarTarget()
    return target.get_client()


def _live_in_range(lo: datetime, hi: datetime):
    return Booking.objects.filter(
        status__in=Booking.LIVE_STATUSES, start__gte=lo, start__lt=hi
    ).select_related("boat")


def _local_uid(booking: Booking) -> str:
    return f"booking-{booking.pk}@charterops"


def _local_events(lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    """The live local entries as Google-shaped events, so one comparison serves both."""
    events = []
    for entry in CalendarEntry.objects.filter(cancelled=False, start__lt=hi, end__gt=lo):
        style = "all_day" if entry.all_day else "timed"
        start, end = calendar_event_times(entry, style=style)
        events.append(
            {
                "id": entry.uid,
                "summary": entry.summary,
                "start": start,
                "end": end,
                "extendedProperties": {"private": {MARKER: str(entry.booking_id)}},
            }
        )
    return events


def _marker(event: dict[str, Any]) -> int | None:
    value = (event.get("extendedProperties") or {}).get("private", {}).get(MARKER)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _times_key(start: dict[str, str], end: dict[str, str]) -> tuple[str, str]:
    def one(part: dict[str, str]) -> str:
        if "date" in part:
            return part["date"]
        if "dateTime" in part:
            return datetime.fromisoformat(part["dateTime"]).astimezone(PACIFIC).isoformat()
        return "?"

    return one(start), one(end)


def calendar_drift_rows_fix(rows: list[CalendarDrift], *, actor: Any = None) -> ReconcileReport:
    """Repair stored findings (the admin action): as ``calendar_reconcile --fix`` would."""
    rows = [r for r in rows if r.fixed_at is None]
    backend = settings.CHARTEROPS_CALENDAR_BACKEND
    today = timezone.localdate()
    report = ReconcileReport(backend=backend, start=today, end=today)
    report.findings = [Finding(r.kind, r.message, r.booking, r.event_id) for r in rows]
    client, calendar_id = None, ""
    if backend == "google":
        calendar_id = google_calendar_id()
        client = _registered_client()
    if report.findings:
        calendar_drift_fix(report, rows, actor=actor, client=client, calendar_id=calendar_id)
    return report
