"""``calendar_feed_url --user USERNAME [--boat SLUG]``: print a feed URL, issuing a token if needed."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from bookings.calendar.feed import (
    CalendarFeedRefused,
    calendar_feed_token_for_username,
    calendar_feed_url,
)


class Command(BaseCommand):
    help = "Print the iCalendar feed URL of a user (optionally for one boat), issuing its token."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username the feed is for")
        parser.add_argument("--boat", default=None, help="boat slug: only that boat's charters")

    def handle(self, *args, user: str, boat: str | None, **options):
        try:
            token, issued = calendar_feed_token_for_username(
                user, boat_slug=boat, actor="calendar_feed_url"
            )
        except CalendarFeedRefused as exc:
            raise CommandError(str(exc)) from None
        if issued:
            self.stderr.write(f"Issued a new feed token for {token.user.get_username()}.")
        self.stdout.write(calendar_feed_url(token))
