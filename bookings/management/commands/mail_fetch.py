"""``manage.py mail_fetch``: poll the IMAP mailbox once (beat runs it on a schedule)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bookings.intake.mail.sources import mail_fetch
from bookings.integrations.imap import ImapError, ImapMailbox


class Command(BaseCommand):
    help = (
        "Store every new message of the IMAP mailbox (CHARTEROPS_MAIL_IMAP_*), parse it into "
        "a proposal, then mark it seen (or move it). Prints one line per message."
    )

    def handle(self, *args, **options):
        if not settings.CHARTEROPS_MAIL_IMAP_HOST:
            raise CommandError("set CHARTEROPS_MAIL_IMAP_HOST (and _USER, _PASSWORD) first")
        try:
            results = mail_fetch(ImapMailbox.from_settings())
        except ImapError as exc:
            raise CommandError(str(exc)) from exc
        for received in results:
            self.stdout.write(received.line())
        if not results:
            self.stdout.write("no new messages")
