"""``calendar_feed_url --user USERNAME [--boat SLUG]``: print a feed URL, issuing a token if needed."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bookings.calendar.feed import calendar_feed_token_get_or_issue, calendar_feed_url
from bookings.models import Boat


class Command(BaseCommand):
    help = "Print the iCalendar feed URL of a user (optionally for one boat), issuing its token."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username the feed is for")
        parser.add_argument("--boat", default=None, help="boat slug: only that boat's charters")

    def handle(self, *args, user: str, boat: str | None, **options):
        User = get_user_model()
        try:
            owner = User.objects.get(**{User.USERNAME_FIELD: user})
        except User.DoesNotExist:
            raise CommandError(f"No user {user!r}.") from None
        if not owner.is_active:
            raise CommandError(f"User {user!r} is inactive; an inactive user's feed answers 404.")
        the_boat = None
        if boat:
            the_boat = Boat.objects.filter(slug=boat).first()
            if the_boat is None:
                raise CommandError(f"No boat with slug {boat!r}.")
        token, issued = calendar_feed_token_get_or_issue(
            user=owner, boat=the_boat, actor="calendar_feed_url"
        )
        if issued:
            self.stderr.write(f"Issued a new feed token for {owner.get_username()}.")
        self.stdout.write(calendar_feed_url(token))
