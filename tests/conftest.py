"""Shared fixtures: isolated storage and outbox, factories, staff users, a headless browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import factories
from tests.aws import aws, moto_server, s3_storage, s3_storage_server  # noqa: F401  (fixtures)
from tests.services import CHROMIUM_ARGS, PHONE, chromium_path, require


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite tests use a file, so a real worker process can share the test database."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path: Path):
    """Every test writes files, guest pages and mail into its own temporary folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    storages = dict(settings.STORAGES)
    if storages["default"]["BACKEND"].endswith("FileSystemStorage"):
        storages["default"] = {
            **storages["default"],
            "OPTIONS": {"location": str(tmp_path / "media")},
        }
    if storages["guestpages"]["BACKEND"].endswith("FileSystemStorage"):
        storages["guestpages"] = {
            **storages["guestpages"],
            "OPTIONS": {
                **storages["guestpages"].get("OPTIONS", {}),
                "location": str(tmp_path / "guestpages"),
            },
        }
    settings.STORAGES = storages
    from django.core.files.storage import storages as handler

    handler._storages = {}
    handler._backends = None
    yield
    handler._storages = {}
    handler._backends = None


@pytest.fixture
def boat(db):
    return factories.BoatFactory()


@pytest.fixture
def booking(db):
    return factories.BookingFactory()


@pytest.fixture
def superuser_client(client, django_user_model):
    """A client logged in as the superuser "boss" (audit rows are asserted by that username;
    pytest-django's own ``admin_client`` logs in as "admin")."""
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.fixture
def staff_user(db):
    from django.contrib.auth.models import Group

    user = factories.UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Operations"))
    return user


@pytest.fixture
def chromium(live_server):
    """Debian's Chromium driven by Playwright, one browser per test; contexts come from it."""
    path = chromium_path()
    require(path is not None, "Debian's chromium (apt-get install -y chromium)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _context(browser, live_server, **options):
    context = browser.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def browser_context(chromium, live_server):
    """A desk-sized context: staff in the admin."""
    context = _context(chromium, live_server)
    yield context
    context.close()


@pytest.fixture
def phone_context(chromium, live_server):
    """A phone-sized context on the same browser: crew on the dock, guests opening a link."""
    context = _context(chromium, live_server, **PHONE)
    yield context
    context.close()


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(os.environ.get("CHARTEROPS_TEST_ARTIFACTS", "var/test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _tasks_in_process(request, settings):
    """Unit tests run tasks in-process even on the Redis pass; real-worker tests opt out."""
    from charterops.celery import app

    if request.node.get_closest_marker("real_worker"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_boat_index():
    """Each test starts with an empty per-process fleet index: rolled-back boats are gone."""
    from bookings.intake.boats import boat_index

    boat_index.clear()
    yield
    boat_index.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached pages never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
