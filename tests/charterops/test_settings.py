"""Settings: embedded defaults with nothing set, fail fast without production secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _start(env_overrides: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CHARTEROPS_", "SECRET_KEY"))
    }
    env.update({"CHARTEROPS_VAR_DIR": str(tmp_path), **env_overrides})
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_time_zone_is_the_boats_and_storage_is_utc():
    assert settings.TIME_ZONE == "America/Los_Angeles"
    assert settings.USE_TZ is True


def test_nothing_set_runs_on_embedded_defaults(tmp_path):
    result = _start({}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dev-secret-key").exists()


def test_production_without_secret_key_refuses_to_start_and_names_it(tmp_path):
    result = _start({"DJANGO_DEBUG": "false"}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"CELERY_TASK_ALWAYS_EAGER": "false"}, "CELERY_BROKER_URL"),
        ({"CHARTEROPS_CALENDAR_BACKEND": "google"}, "CHARTEROPS_GOOGLE_CALENDAR_ID"),
    ],
)
def test_production_names_each_missing_secret(tmp_path, env, missing):
    result = _start({"DJANGO_DEBUG": "false", "SECRET_KEY": "x" * 50, **env}, tmp_path)
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_production_with_its_secrets_starts(tmp_path):
    result = _start(
        {
            "DJANGO_DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "DJANGO_ALLOWED_HOSTS": "ops.example.com",
        },
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
