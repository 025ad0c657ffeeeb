"""python manage.py demo: load the demo company and print the admin login."""

import os

from django.core.management.base import BaseCommand

from bookings.demo import demo_load


class Command(BaseCommand):
    help = "Load a small demo charter company (idempotent) and print the admin login."

    def handle(self, *args, **options):
        username, password = demo_load(password=os.environ.get("CHARTEROPS_DEMO_PASSWORD") or None)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        if password:
            self.stdout.write(f"Admin login: {username} / {password}")
        else:
            self.stdout.write(f"Admin login: {username} (password unchanged since it was set)")
