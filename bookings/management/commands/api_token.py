"""``manage.py api_token create --name NAME [--days N]`` prints a new token once; ``revoke NAME``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from bookings.models import ApiToken
from bookings.tokens import DEFAULT_DAYS, TokenNameTaken, api_token_issue, api_token_revoke


class Command(BaseCommand):
    help = "Issue or revoke an X-Dashboard-Token for an internal tool."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token and print it once")
        create.add_argument("--name", required=True)
        create.add_argument("--days", type=int, default=DEFAULT_DAYS)
        revoke = sub.add_parser("revoke", help="revoke the token with this name")
        revoke.add_argument("name")
        sub.add_parser("list", help="list tokens (never their secret)")

    def handle(self, *args, action: str, **options):
        if action == "create":
            try:
                token, raw = api_token_issue(options["name"], days=options["days"], actor="cli")
            except (TokenNameTaken, ValueError) as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Token {token.name!r}, valid until {token.expires_at:%Y-%m-%d}.")
            self.stdout.write("Copy it now; it is not stored and will not be shown again:")
            self.stdout.write(raw)
        elif action == "revoke":
            token = ApiToken.objects.filter(name=options["name"]).first()
            if token is None:
                raise CommandError(f"no token named {options['name']!r}")
            done = api_token_revoke(token, actor="cli")
            self.stdout.write(f"Revoked {token.name!r}." if done else "It was already revoked.")
        else:
            for token in ApiToken.objects.all():
                state = "revoked" if token.revoked_at else f"expires {token.expires_at:%Y-%m-%d}"
                used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
                self.stdout.write(f"{token.name}\t{token.prefix}…\t{state}\tlast used {used}")
