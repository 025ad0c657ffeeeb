"""Email intake settings fail closed in production: an IMAP host needs its credentials, SES
inbound needs anymail's basic auth; setting the host schedules the poll."""

from __future__ import annotations

import subprocess
import sys

from tests.charterops.test_settings import PRODUCTION, ROOT, _clean_env, _start


def test_an_imap_host_without_credentials_refuses_to_start(tmp_path):
    result = _start({**PRODUCTION, "CHARTEROPS_MAIL_IMAP_HOST": "imap.gmail.com"}, tmp_path)

    assert result.returncode != 0
    assert "CHARTEROPS_MAIL_IMAP_USER must be set" in result.stderr
    assert "CHARTEROPS_MAIL_IMAP_PASSWORD must be set (an app password)" in result.stderr


def test_ses_inbound_without_basic_auth_refuses_to_start(tmp_path):
    env = {**PRODUCTION, "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}
    env.pop("ANYMAIL_WEBHOOK_SECRET")
    env["CHARTEROPS_MAIL_SES_TOPIC_ARNS"] = "arn:aws:sns:us-west-2:123456789012:inbound"

    result = _start(env, tmp_path)

    assert result.returncode != 0
    assert "ANYMAIL_WEBHOOK_SECRET must be set (user:password SNS sends to the SES inbound" in (
        result.stderr
    )


def test_a_configured_mailbox_is_polled_by_beat(tmp_path):
    env = {
        "CHARTEROPS_MODE": "demo",
        "CHARTEROPS_MAIL_IMAP_HOST": "imap.example.com",
        "CHARTEROPS_MAIL_IMAP_USER": "bookings@example.com",
        "CHARTEROPS_MAIL_IMAP_PASSWORD": "app-password",
    }
    result = _start(env, tmp_path)
    assert result.returncode == 0, result.stderr

    shown = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.conf import settings; print(settings.CELERY_BEAT_SCHEDULE['mail-fetch']['task'])"],
        cwd=ROOT, env={**_clean_env(tmp_path), **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.stdout.strip().splitlines()[-1] == "bookings.mail_fetch"
