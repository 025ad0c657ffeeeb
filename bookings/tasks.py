"""Celery tasks of the bookings app."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task(name="bookings.calendar_reconcile", acks_late=True, ignore_result=True)
def calendar_reconcile_task(days_back: int = 1, days_ahead: int = 120, fix: bool = False) -> int:
    """Nightly (beat): compare the calendar with the bookings and record the findings for the
    admin; repairs only with ``fix``. Safe to re-run: a run replaces the previous findings.
    Not retried: the next night's run is the retry. Returns the number of findings.
    """
    from .calendar_drift import calendar_reconcile

    today = timezone.localdate()
    report = calendar_reconcile(
        start=today - timedelta(days=days_back), end=today + timedelta(days=days_ahead), fix=fix
    )
    return len(report.findings)
