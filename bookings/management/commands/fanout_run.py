"""python manage.py fanout_run BOOKING: run the booking's stale targets here, without a worker."""

from django.core.management.base import BaseCommand
from django.db import transaction

from bookings.lookup import booking_lookup
from charterops.fanout.engine import booking_fanout_request, booking_fanout_run, target_state_run
from charterops.models import TargetState


class Command(BaseCommand):
    help = "Run a booking's stale fan-out targets synchronously (for operators without a worker)."

    def add_arguments(self, parser):
        parser.add_argument("booking", help="primary key or source:external_id")
        parser.add_argument(
            "--all", action="store_true", help="also re-run targets that are done or failed"
        )

    def handle(self, *args, booking, **options):
        obj = booking_lookup(booking)
        with transaction.atomic():
            booking_fanout_request(obj)  # creates missing rows; enqueue happens on commit
            if options["all"]:
                obj.target_states.update(status=TargetState.Status.PENDING, attempts=0)
        if options["all"]:
            outcomes = [target_state_run(s.pk, force=True) for s in obj.target_states.all()]
        else:
            outcomes = booking_fanout_run(obj)
        for outcome in outcomes:
            self.stdout.write(f"row {outcome.state_id}: {outcome.result}")
        failed = [o for o in outcomes if o.result in {"failed", "retrying"}]
        if failed:
            self.stderr.write(f"{len(failed)} target(s) did not converge; see fanout_status.")
