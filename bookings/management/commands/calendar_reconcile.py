"""``calendar_reconcile [--from DATE] [--to DATE] [--fix] [--json]``: the calendar drift check."""

from __future__ import annotations

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from bookings.calendar.drift import calendar_reconcile, calendar_reconcile_window
from charterops.fanout.targets import TargetError


class Command(BaseCommand):
    help = (
        "List the calendar's events in a date range and report, per booking, missing, stale, "
        "orphan and duplicate events; --fix repairs them through the fan-out engine."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from",
            dest="start",
            type=date.fromisoformat,
            default=None,
            help="first day (Pacific), YYYY-MM-DD; default yesterday",
        )
        parser.add_argument(
            "--to",
            dest="end",
            type=date.fromisoformat,
            default=None,
            help="last day (Pacific), YYYY-MM-DD; default 120 days ahead",
        )
        parser.add_argument("--fix", action="store_true", help="repair what is found")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, start=None, end=None, fix=False, **options):
        try:
            start, end = calendar_reconcile_window(start, end)
        except ValueError:
            raise CommandError("--to is before --from.") from None
        try:
            report = calendar_reconcile(start=start, end=end, fix=fix)
        except TargetError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
            return
        self.stdout.write(
            f"Calendar ({report.backend}) {start} to {end}: {report.events_seen} event(s), "
            f"{report.bookings_checked} live booking(s)."
        )
        for finding in report.findings:
            self.stdout.write(f"  {finding.kind:<9} {finding.message}")
        if not report.findings:
            self.stdout.write(self.style.SUCCESS("No drift."))
        elif report.fixed:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Fixed: re-synced {len(report.requeued_bookings)} booking(s) through the "
                    f"engine, deleted {len(report.deleted_events)} event(s)."
                )
            )
        else:
            self.stdout.write(
                self.style.WARNING(f"{len(report.findings)} finding(s); run with --fix.")
            )
