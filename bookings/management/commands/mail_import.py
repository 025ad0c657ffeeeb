"""``manage.py mail_import PATH...``: store and read marketplace emails from .eml/.mbox files."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bookings.intake.mail.sources import mail_import


class Command(BaseCommand):
    help = (
        "Import marketplace emails (.eml files, .mbox mailboxes): each is stored, then parsed "
        "into a proposal for staff (or kept unparsed). Prints one line per message. Safe to "
        "repeat: a message stored already is reported as a duplicate and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help=".eml or .mbox files")

    def handle(self, *args, paths: list[str], **options):
        files = [Path(p) for p in paths]
        missing = [str(p) for p in files if not p.is_file()]
        if missing:
            raise CommandError(f"no such file: {', '.join(missing)}")
        for path in files:
            for received in mail_import(path):
                self.stdout.write(received.line())
