"""python manage.py fanout_sweep: one sweep by hand (beat runs it every 30 seconds)."""

from django.core.management.base import BaseCommand

from charterops.fanout.engine import fanout_sweep


class Command(BaseCommand):
    help = "Re-enqueue fan-out rows that are due and not leased (lost messages, dead workers)."

    def handle(self, *args, **options):
        ids = fanout_sweep()
        self.stdout.write(f"Re-enqueued {len(ids)} row(s).")
