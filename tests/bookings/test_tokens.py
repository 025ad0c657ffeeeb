"""API tokens: issued once, stored as SHA-256 only, expire after 90 days, revocable, used-at noted."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from bookings.models import ApiToken
from bookings.tokens import (
    TokenNameTaken,
    TokenRefused,
    api_token_issue,
    api_token_revoke,
    api_token_verify,
)
from charterops.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_only_the_sha256_of_a_token_is_stored():
    token, raw = api_token_issue("dispatch-board")
    assert raw.startswith("cot_") and len(raw) > 40
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=token.pk).values()[0]
    assert raw not in str(stored)
    assert token.prefix == raw[:8]
    assert AuditEvent.objects.filter(action="bookings.api_token.issued").exists()


def test_a_token_lasts_ninety_days_by_default():
    token, _ = api_token_issue("quarterly")
    assert timedelta(days=89, hours=23) < token.expires_at - timezone.now() <= timedelta(days=90)


def test_a_token_expires_at_its_expiry():
    token, raw = api_token_issue("short", days=1)
    assert api_token_verify(raw) == token
    later = timezone.now() + timedelta(days=1, seconds=1)
    with time_machine.travel(later), pytest.raises(TokenRefused, match="token expired"):
        api_token_verify(raw)


def test_a_revoked_token_is_refused_and_revoking_twice_changes_nothing(admin_user):
    token, raw = api_token_issue("leaked")
    assert api_token_revoke(token, actor=admin_user) is True
    assert api_token_revoke(token, actor=admin_user) is False
    assert token.revoked_by == admin_user
    with pytest.raises(TokenRefused, match="token revoked"):
        api_token_verify(raw)


def test_last_used_is_noted_at_most_once_a_minute(django_assert_num_queries):
    token, raw = api_token_issue("busy")
    api_token_verify(raw)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    with django_assert_num_queries(1):  # a read, no write
        api_token_verify(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


def test_names_are_unique():
    api_token_issue("board")
    with pytest.raises(TokenNameTaken):
        api_token_issue("board")


def test_the_command_prints_a_new_token_once_and_revokes_by_name():
    out = StringIO()
    call_command("api_token", "create", "--name", "zapier", "--days", "30", stdout=out)
    raw = next(line for line in out.getvalue().splitlines() if line.startswith("cot_"))
    token = api_token_verify(raw)
    assert token.name == "zapier"
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    call_command("api_token", "revoke", "zapier", stdout=StringIO())
    with pytest.raises(TokenRefused, match="revoked"):
        api_token_verify(raw)


def test_the_command_refuses_a_taken_name_and_an_unknown_one():
    call_command("api_token", "create", "--name", "zapier", stdout=StringIO())
    with pytest.raises(CommandError, match="exists"):
        call_command("api_token", "create", "--name", "zapier", stdout=StringIO())
    with pytest.raises(CommandError, match="no token named"):
        call_command("api_token", "revoke", "nobody", stdout=StringIO())
