"""Settings: production is the default and fails closed; the embedded demo is chosen explicitly."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

PRODUCTION = {
    "SECRET_KEY": "k" * 20 + "production-only-" + "z" * 20,
    "DJANGO_ALLOWED_HOSTS": "ops.example.com",
    "CHARTEROPS_SITE_URL": "https://ops.example.com",
    "DATABASE_URL": "postgres://charterops@127.0.0.1:5432/charterops",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_BACKEND": "anymail.backends.amazon_ses.EmailBackend",
    "ANYMAIL_WEBHOOK_SECRET": "sns:a-long-random-password",
}


def _clean_env(tmp_path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("DJANGO_", "DATABASE_", "CELERY_", "CHARTEROPS_", "SECRET_KEY", "CACHE_", "EMAIL_")
        )
        and not k.startswith(("ANYMAIL_", "SENTRY_", "AWS_"))
    }
    env["CHARTEROPS_VAR_DIR"] = str(tmp_path)
    return env


def _start(env_overrides: dict[str, str], tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env={**_clean_env(tmp_path), **env_overrides},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_time_zone_is_the_boats_and_storage_is_utc():
    assert settings.TIME_ZONE == "America/Los_Angeles"
    assert settings.USE_TZ is True


def test_the_suite_runs_the_demo_explicitly():
    assert settings.CHARTEROPS_MODE == "demo"


def test_the_demo_runs_on_embedded_defaults_with_nothing_else_set(tmp_path):
    result = _start({"CHARTEROPS_MODE": "demo"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dev-secret-key").exists()


def test_nothing_set_is_production_and_refuses_to_start_naming_every_missing_setting(tmp_path):
    result = _start({}, tmp_path)
    assert result.returncode != 0
    for name in (
        "SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "CHARTEROPS_SITE_URL",
        "DATABASE_URL",
        "CACHE_URL",
        "CELERY_BROKER_URL",
        "EMAIL_BACKEND",
    ):
        assert f"{name} must be set" in result.stderr
    assert "CHARTEROPS_MODE=demo" in result.stderr  # and says how to run the demo instead
    assert not (tmp_path / "dev-secret-key").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"CHARTEROPS_SITE_URL": "http://127.0.0.1:8000"}, "CHARTEROPS_SITE_URL must start with"),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"},
            "EMAIL_BACKEND must send mail",
        ),
        ({"ANYMAIL_WEBHOOK_SECRET": ""}, "ANYMAIL_WEBHOOK_SECRET must be set"),
        ({"CHARTEROPS_CALENDAR_BACKEND": "google"}, "CHARTEROPS_GOOGLE_CALENDAR_ID must be set"),
        ({"DJANGO_DEBUG": "true"}, "only allowed with CHARTEROPS_MODE=demo"),
    ],
)
def test_production_refuses_each_unsafe_or_missing_setting(tmp_path, change, message):
    result = _start({**PRODUCTION, **change}, tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_with_its_settings_starts(tmp_path):
    result = _start(PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "dev-secret-key").exists()


def test_check_deploy_is_clean_on_the_readmes_production_settings(tmp_path):
    text = README.read_text()
    block = re.search(r"<!-- production-env:.*?-->\n```sh\n(.*?)```", text, re.S).group(1)
    script = f"{block}\n{sys.executable} manage.py check --deploy --fail-level WARNING\n"
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_make_demo_chooses_the_demo_and_its_links_follow_the_port(tmp_path):
    """`make demo PORT=8101` serves on 8101 and writes every link on 8101."""
    # RUN prints what each step of the recipe would run with, instead of running it.
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "demo",
            "PORT=8101",
            "RUN=printenv CHARTEROPS_MODE CHARTEROPS_SITE_URL; echo",
        ],
        cwd=ROOT,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    ran = [line for line in result.stdout.splitlines() if not line.startswith("printenv")]
    assert ran == [
        *("demo", "http://127.0.0.1:8101", "python manage.py migrate --noinput"),
        *("demo", "http://127.0.0.1:8101", "python manage.py demo"),
        "CharterOps is at http://127.0.0.1:8101/  (admin: http://127.0.0.1:8101/admin/)",
        *("demo", "http://127.0.0.1:8101", "python manage.py runserver 127.0.0.1:8101"),
    ]


def _settings_of(env_overrides: dict[str, str], tmp_path, *names: str) -> dict:
    """The named settings as a process started with this environment builds them."""
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **_clean_env(tmp_path),
            "DJANGO_SETTINGS_MODULE": "charterops.settings",
            "CHARTEROPS_MODE": "demo",
            **env_overrides,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_webhook_secrets_come_from_one_variable_per_source(tmp_path):
    """Read once, by settings: code and tests see ``settings.CHARTEROPS_WEBHOOK_SECRETS``."""
    env = {
        "CHARTEROPS_WEBHOOK_SECRETS_BOATSETTER": "whsec_new, whsec_old,",
        "CHARTEROPS_WEBHOOK_SECRETS_MY_RELAY": "whsec_relay",
        "CHARTEROPS_WEBHOOK_SECRETS_UNSET": " ",
    }
    got = _settings_of(env, tmp_path, "CHARTEROPS_WEBHOOK_SECRETS")
    assert got["CHARTEROPS_WEBHOOK_SECRETS"] == {
        "boatsetter": ["whsec_new", "whsec_old"],
        "my_relay": ["whsec_relay"],
    }


def test_the_fanout_fake_variable_swaps_the_targets_but_those_it_keeps_real(tmp_path):
    fake = {"latency": {"calendar": 0.2}, "real": ["crew"]}
    got = _settings_of(
        {"CHARTEROPS_FANOUT_FAKE": json.dumps(fake)},
        tmp_path,
        "CHARTEROPS_FANOUT_FAKE",
        "CHARTEROPS_FANOUT_TARGETS",
    )
    assert got["CHARTEROPS_FANOUT_FAKE"] == fake
    targets = got["CHARTEROPS_FANOUT_TARGETS"]
    assert targets["crew"] == "crew.fanout.CrewTarget"
    assert targets["calendar"] == targets["guest_page"] == "charterops.fanout.fakes.FakeTarget"
    assert _settings_of({}, tmp_path, "CHARTEROPS_FANOUT_FAKE") == {"CHARTEROPS_FANOUT_FAKE": {}}


def test_a_fanout_fake_that_is_not_json_refuses_to_start(tmp_path):
    result = _start({"CHARTEROPS_MODE": "demo", "CHARTEROPS_FANOUT_FAKE": "{latency"}, tmp_path)
    assert result.returncode != 0
    assert "CHARTEROPS_FANOUT_FAKE is not JSON" in result.stderr
