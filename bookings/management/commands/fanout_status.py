"""python manage.py fanout_status BOOKING [--json]: where a booking stands on every target."""

import json

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder

from bookings.lookup import booking_lookup
from charterops.fanout.serialize import target_states_report


class Command(BaseCommand):
    help = "Show a booking's fan-out targets: status, versions, attempts, last error, reference."

    def add_arguments(self, parser):
        parser.add_argument("booking", help="primary key or source:external_id")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, booking, **options):
        report = target_states_report(booking_lookup(booking))
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, cls=DjangoJSONEncoder))
            return
        self.stdout.write(f"{report['reference']} ({report['status']}, v{report['version']})")
        for t in report["targets"]:
            line = (
                f"  {t['target']:<11} {t['status']:<9} v{t['synced_version']}/"
                f"{t['desired_version']} attempts={t['attempts']} {t['external_ref']}"
            )
            self.stdout.write(line + (f"\n    error: {t['last_error']}" if t["last_error"] else ""))
        if not report["targets"]:
            self.stdout.write("  no targets (the booking has not been confirmed)")
