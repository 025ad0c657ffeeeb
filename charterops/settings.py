"""CharterOps settings: everything from the environment, embedded defaults when nothing is set."""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
VAR_DIR = Path(env.str("CHARTEROPS_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


# --- Mode: production unless the embedded demo is chosen explicitly -------------------------
# Fail closed: a deployment that forgets a variable refuses to start, naming what is missing;
# the demo (`make demo`, `make test`, `manage.py demo`) says CHARTEROPS_MODE=demo.
CHARTEROPS_MODE = env.str("CHARTEROPS_MODE", default="production")
if CHARTEROPS_MODE not in {"production", "demo"}:
    raise ImproperlyConfigured("CHARTEROPS_MODE must be 'production' (the default) or 'demo'.")
DEMO = CHARTEROPS_MODE == "demo"
_missing: list[str] = []


def mandatory(name: str, value: str, *, why: str = "") -> str:
    """Record a production setting that is missing or wrong; start-up stops naming all of them."""
    if not value and not DEMO:
        _missing.append(f"{name} must be set{f' ({why})' if why else ''}")
    return value


def production_env(name: str, *, demo_default: str, why: str = "") -> str:
    """A variable with an embedded default in the demo and none in production."""
    if DEMO:
        return env.str(name, default=demo_default)
    return mandatory(name, env.str(name, default=""), why=why)


# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=DEMO)
if DEBUG and not DEMO:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=true shows debug pages to anyone: it is only allowed with CHARTEROPS_MODE=demo."
    )
_dev_key_file = VAR_DIR / "dev-secret-key"
if DEMO and not env.str("SECRET_KEY", default=""):
    if not _dev_key_file.exists():
        _dev_key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _dev_key_file.read_text().strip()
else:
    SECRET_KEY = mandatory("SECRET_KEY", env.str("SECRET_KEY", default=""))

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEMO else []
)
mandatory("DJANGO_ALLOWED_HOSTS", ",".join(ALLOWED_HOSTS))
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Every public link (crew magic links, feeds, guest pages, the photo drop) starts with it.
SITE_URL = production_env(
    "CHARTEROPS_SITE_URL", demo_default="http://127.0.0.1:8000", why="https://, the public URL"
).rstrip("/")
if SITE_URL and not DEMO and not SITE_URL.startswith("https://"):
    _missing.append(f"CHARTEROPS_SITE_URL must start with https:// (not {SITE_URL!r})")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anymail",
    "charterops",
    "bookings",
    "crew",
    "guestpages",
]

MIDDLEWARE = [
    "charterops.health.HealthMiddleware",  # /healthz, /readyz: before host and https checks
    "charterops.observability.RequestContextMiddleware",  # request id, one log line each
    "charterops.ratelimits.EntryRateLimitMiddleware",  # token and anonymous entries, per address
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "charterops.urls"
WSGI_APPLICATION = "charterops.wsgi.application"
ASGI_APPLICATION = "charterops.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "sesame.backends.ModelBackend",
]

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url_config(
        production_env(
            "DATABASE_URL",
            demo_default=f"sqlite:///{VAR_DIR / 'charterops.sqlite3'}",
            why="PostgreSQL, postgres://user@host:5432/db",
        )
        or "sqlite://:memory:"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
else:
    _pool_size = env.int("DATABASE_POOL_MAX_SIZE", default=0)
    if _pool_size:
        # psycopg's pool: Celery closes the connection after every task, which with a pool
        # hands it back instead of dropping it (threads-pool workers would reconnect per task).
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(4, _pool_size),
            "max_size": _pool_size,
            "timeout": 30,
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django requires it with a pool
    else:
        DATABASES["default"].setdefault(
            "CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60)
        )
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    _test_db = env.str("DATABASE_TEST_NAME", default="")
    if _test_db:
        DATABASES["default"]["TEST"] = {"NAME": _test_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, feeds) ---------------------------------------------------------
# Shared by every web worker in production: a per-process cache gives each its own budget.
CACHES = {
    "default": env.cache_url_config(
        production_env(
            "CACHE_URL",
            demo_default="locmemcache://charterops",
            why="shared cache for rate limits, e.g. redis://127.0.0.1:6379/1",
        )
        or "locmemcache://charterops"
    )
}

# --- Time and language ------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/Los_Angeles"
USE_I18N = True
USE_TZ = True

# --- Static and media storage -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
CHARTEROPS_STORAGE = env.str("CHARTEROPS_STORAGE", default="local")  # local | s3
AWS_REGION = env.str("AWS_REGION", default="us-west-2")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
GUEST_PAGES_BUCKET = env.str("CHARTEROPS_GUEST_PAGES_BUCKET", default="queenofsandiego.com")
GUEST_PAGES_CUSTOM_DOMAIN = env.str("CHARTEROPS_GUEST_PAGES_DOMAIN", default="")
PHOTOS_BUCKET = env.str("CHARTEROPS_PHOTOS_BUCKET", default="queenofsandiego.com")
CLOUDFRONT_DISTRIBUTION_ID = env.str("CHARTEROPS_CLOUDFRONT_DISTRIBUTION_ID", default="")

if CHARTEROPS_STORAGE == "s3":
    _s3_common = {
        "region_name": AWS_REGION,
        "endpoint_url": AWS_S3_ENDPOINT_URL,
        "signature_version": "s3v4",
    }
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**_s3_common, "bucket_name": PHOTOS_BUCKET},
        },
        "guestpages": {
            "BACKEND": "guestpages.storage.GuestPageStorage",
            "OPTIONS": {
                **_s3_common,
                "bucket_name": GUEST_PAGES_BUCKET,
                "custom_domain": GUEST_PAGES_CUSTOM_DOMAIN or None,
                "querystring_auth": False,
                "file_overwrite": True,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
elif CHARTEROPS_STORAGE == "local":
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "guestpages": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": str(VAR_DIR / "guestpages"),
                "allow_overwrite": True,
                "base_url": f"{SITE_URL}/",
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
else:
    raise ImproperlyConfigured("CHARTEROPS_STORAGE must be 'local' or 's3'.")

# --- Email, SMS -------------------------------------------------------------------------
OUTBOX_DIR = VAR_DIR / "outbox"
# Django 6.1 mailers: the file backend writes every message to var/outbox/ by default;
# EMAIL_BACKEND=anymail.backends.amazon_ses.EmailBackend sends through SES in production.
_email_backend = production_env(
    "EMAIL_BACKEND",
    demo_default="django.core.mail.backends.filebased.EmailBackend",
    why="anymail.backends.amazon_ses.EmailBackend",
)
if not DEMO and _email_backend.split(".")[-2:-1] in (["filebased"], ["console"], ["locmem"]):
    # The file outbox would keep live magic links on disk; the console prints them to logs.
    _missing.append(f"EMAIL_BACKEND must send mail (not {_email_backend!r})")
_email_backend = _email_backend or "django.core.mail.backends.dummy.EmailBackend"
MAILERS = {
    "default": {
        "BACKEND": _email_backend,
        "OPTIONS": {"file_path": str(OUTBOX_DIR)}
        if _email_backend.endswith("filebased.EmailBackend")
        else {},
    },
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CharterOps <ops@queenofsandiego.com>")
ANYMAIL = {
    "AMAZON_SES_CLIENT_PARAMS": {"region_name": AWS_REGION},
    # "user:password" in the SNS subscription URL of the tracking webhook (bounces, complaints).
    "WEBHOOK_SECRET": env.list("ANYMAIL_WEBHOOK_SECRET", default=[]),
}
CHARTEROPS_SMS_BACKEND = env.str("CHARTEROPS_SMS_BACKEND", default="outbox")  # outbox | sns
CHARTEROPS_SNS_TOPIC_ARN = env.str("CHARTEROPS_SNS_TOPIC_ARN", default="")
# The outbox (charterops/outbox.py): how long a send may hold its claim, how often to retry.
CHARTEROPS_OUTBOX_LEASE_SECONDS = env.int("CHARTEROPS_OUTBOX_LEASE_SECONDS", default=120)
CHARTEROPS_OUTBOX_MAX_ATTEMPTS = env.int("CHARTEROPS_OUTBOX_MAX_ATTEMPTS", default=8)
# Where staff notices go (declines, silent crew, failed messages); also Operations staff
# holding the "Receives crew staff notices" permission.
CHARTEROPS_OPERATIONS_EMAIL = env.list("CHARTEROPS_OPERATIONS_EMAIL", default=[])

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"  # tasks run in-process; nothing connects to a broker
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
# Redis redelivers an unacked message after the visibility timeout: keep it well above the
# hard time limit so a slow task is never run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers and beat log through LOGGING below (JSON in production), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "fanout-sweep": {"task": "charterops.fanout_sweep", "schedule": timedelta(seconds=30)},
    # Objects of photo grants that expired unconfirmed (S3's lifecycle rule is the backstop).
    "photo-grants-sweep": {
        "task": "bookings.photo_grants_sweep",
        "schedule": timedelta(minutes=15),
    },
    # Normally woken by each webhook delivery; this catches lost wake-ups and retries.
    "webhook-deliveries-drain": {
        "task": "bookings.webhook_deliveries_drain",
        "schedule": timedelta(seconds=60),
    },
    "calendar-reconcile": {
        "task": "bookings.calendar_reconcile",
        "schedule": crontab(hour=3, minute=20),  # nightly, Pacific (CELERY_TIMEZONE)
    },
}

# --- Fan-out engine ---------------------------------------------------------------------
CHARTEROPS_FANOUT_TARGETS = {
    "calendar": "bookings.calendar.target.CalendarTarget",
    "crew": "crew.fanout.CrewTarget",
    "checklist": "crew.checklist.ChecklistTarget",
    "guest_page": "guestpages.publishing.GuestPageTarget",
    "guest_notify": "guestpages.messages.GuestNotifyTarget",
}
# Benchmarks and real-worker tests: JSON that swaps every target for a fake with configured
# latency/failures (charterops.fanout.fakes reads the rest of it from here), except the ones
# listed in its "real" key (e.g. the crew target, to count real messages).
_fanout_fake = env.str("CHARTEROPS_FANOUT_FAKE", default="")
try:
    CHARTEROPS_FANOUT_FAKE = json.loads(_fanout_fake or "{}")
except ValueError as exc:
    raise ImproperlyConfigured(f"CHARTEROPS_FANOUT_FAKE is not JSON: {exc}") from None
if _fanout_fake:
    CHARTEROPS_FANOUT_TARGETS = {
        name: path
        if name in CHARTEROPS_FANOUT_FAKE.get("real", [])
        else "charterops.fanout.fakes.FakeTarget"
        for name, path in CHARTEROPS_FANOUT_TARGETS.items()
    }
# Queue of the fan-out tasks; empty = Celery's default queue. Workers must consume it (-Q).
CHARTEROPS_FANOUT_QUEUE = env.str("CHARTEROPS_FANOUT_QUEUE", default="")
CHARTEROPS_FANOUT_MAX_ATTEMPTS = env.int("CHARTEROPS_FANOUT_MAX_ATTEMPTS", default=8)
CHARTEROPS_FANOUT_BACKOFF_BASE = env.float("CHARTEROPS_FANOUT_BACKOFF_BASE", default=2.0)
CHARTEROPS_FANOUT_BACKOFF_CAP = env.float("CHARTEROPS_FANOUT_BACKOFF_CAP", default=600.0)
CHARTEROPS_FANOUT_LEASE_SECONDS = env.int("CHARTEROPS_FANOUT_LEASE_SECONDS", default=120)
# /readyz says "not ready" once a fan-out row or webhook delivery has waited longer than this.
CHARTEROPS_READY_MAX_STUCK_SECONDS = env.int("CHARTEROPS_READY_MAX_STUCK_SECONDS", default=900)

# --- Bookings intake (webhook, API) -----------------------------------------------------
# Webhook secrets per source, from CHARTEROPS_WEBHOOK_SECRETS_<SOURCE> (the source upper-cased,
# anything but A-Z and 0-9 as "_"; comma-separated, so an old and a new secret are both valid
# during a rotation): {"boatsetter": ["whsec_new", "whsec_old"]}, keyed by the lower-cased
# suffix. A source with no secret is refused by the webhook (bookings.signatures).
_WEBHOOK_SECRETS_PREFIX = "CHARTEROPS_WEBHOOK_SECRETS_"
CHARTEROPS_WEBHOOK_SECRETS = {
    variable.removeprefix(_WEBHOOK_SECRETS_PREFIX).lower(): _secrets
    for variable, value in sorted(os.environ.items())
    if variable.startswith(_WEBHOOK_SECRETS_PREFIX)
    and (_secrets := [secret.strip() for secret in value.split(",") if secret.strip()])
}
CHARTEROPS_WEBHOOK_MAX_BYTES = 256 * 1024
CHARTEROPS_WEBHOOK_TOLERANCE_SECONDS = 300
# Deliveries failing the signature stored per source, address and minute; beyond it, 429.
CHARTEROPS_WEBHOOK_REFUSALS_PER_MINUTE = env.int(
    "CHARTEROPS_WEBHOOK_REFUSALS_PER_MINUTE", default=60
)
# Queue of the task that applies stored webhook deliveries; empty = Celery's default queue.
# A queue of its own keeps new bookings from waiting behind a fan-out backlog.
CHARTEROPS_INTAKE_QUEUE = env.str("CHARTEROPS_INTAKE_QUEUE", default="")
# Booking sources beyond direct, boatsetter, getmyboat, scc and those with webhook secrets (bookings.intake.sources).
CHARTEROPS_INTAKE_SOURCES = env.list("CHARTEROPS_INTAKE_SOURCES", default=[])
if CHARTEROPS_INTAKE_QUEUE:
    CELERY_BEAT_SCHEDULE["webhook-deliveries-drain"]["options"] = {"queue": CHARTEROPS_INTAKE_QUEUE}

# --- Bookings intake by email (bookings/intake/mail/) -------------------------------------
# Marketplaces whose complete, authenticated (DKIM/DMARC) emails apply without a person.
CHARTEROPS_MAIL_AUTO_APPLY = env.list("CHARTEROPS_MAIL_AUTO_APPLY", default=[])
# Receiving servers whose Authentication-Results header is trusted (empty: the topmost one).
CHARTEROPS_MAIL_AUTHSERV_IDS = env.list("CHARTEROPS_MAIL_AUTHSERV_IDS", default=[])
# SNS topics allowed to post to anymail's SES inbound webhook (empty: any, behind basic auth).
CHARTEROPS_MAIL_SES_TOPIC_ARNS = env.list("CHARTEROPS_MAIL_SES_TOPIC_ARNS", default=[])
if CHARTEROPS_MAIL_SES_TOPIC_ARNS:
    # Without basic auth anymail would take inbound mail from anyone who finds the URL.
    mandatory(
        "ANYMAIL_WEBHOOK_SECRET",
        ",".join(ANYMAIL["WEBHOOK_SECRET"]),
        why="user:password SNS sends to the SES inbound webhook",
    )
# The IMAP mailbox `manage.py mail_fetch` polls (beat runs it when a host is set).
CHARTEROPS_MAIL_IMAP_HOST = env.str("CHARTEROPS_MAIL_IMAP_HOST", default="")
CHARTEROPS_MAIL_IMAP_PORT = env.int("CHARTEROPS_MAIL_IMAP_PORT", default=993)
CHARTEROPS_MAIL_IMAP_SSL = env.bool("CHARTEROPS_MAIL_IMAP_SSL", default=True)
CHARTEROPS_MAIL_IMAP_USER = env.str("CHARTEROPS_MAIL_IMAP_USER", default="")
CHARTEROPS_MAIL_IMAP_PASSWORD = env.str("CHARTEROPS_MAIL_IMAP_PASSWORD", default="")
CHARTEROPS_MAIL_IMAP_FOLDER = env.str("CHARTEROPS_MAIL_IMAP_FOLDER", default="INBOX")
# Where stored messages are moved to; empty: they stay and are marked \Seen.
CHARTEROPS_MAIL_IMAP_MOVE_TO = env.str("CHARTEROPS_MAIL_IMAP_MOVE_TO", default="")
# Backstop: messages stored but left unread (every door reads what it stores at once).
CELERY_BEAT_SCHEDULE["inbound-emails-unread"] = {
    "task": "bookings.inbound_emails_unread_process",
    "schedule": timedelta(minutes=10),
}
if CHARTEROPS_MAIL_IMAP_HOST:
    mandatory("CHARTEROPS_MAIL_IMAP_USER", CHARTEROPS_MAIL_IMAP_USER)
    mandatory("CHARTEROPS_MAIL_IMAP_PASSWORD", CHARTEROPS_MAIL_IMAP_PASSWORD, why="an app password")
    CELERY_BEAT_SCHEDULE["mail-fetch"] = {
        "task": "bookings.mail_fetch",
        "schedule": timedelta(minutes=env.int("CHARTEROPS_MAIL_IMAP_EVERY_MINUTES", default=5)),
    }

# --- Calendar ---------------------------------------------------------------------------
CHARTEROPS_CALENDAR_BACKEND = env.str("CHARTEROPS_CALENDAR_BACKEND", default="local")
CHARTEROPS_GOOGLE_CALENDAR_ID = env.str("CHARTEROPS_GOOGLE_CALENDAR_ID", default="")
CHARTEROPS_GOOGLE_SECRET_NAME = env.str(
    "CHARTEROPS_GOOGLE_SECRET_NAME", default="jada-google-service-account"
)
CHARTEROPS_GOOGLE_CREDENTIALS_FILE = env.str("CHARTEROPS_GOOGLE_CREDENTIALS_FILE", default="")
CHARTEROPS_GOOGLE_DELEGATED_USER = env.str("CHARTEROPS_GOOGLE_DELEGATED_USER", default="")
CHARTEROPS_CALENDAR_EVENT_STYLE = env.str("CHARTEROPS_CALENDAR_EVENT_STYLE", default="all_day")
# The service-account JSON itself, for installations without AWS (takes precedence).
CHARTEROPS_GOOGLE_CREDENTIALS_JSON = env.str("CHARTEROPS_GOOGLE_CREDENTIALS_JSON", default="")
CHARTEROPS_GOOGLE_SECRET_TTL = env.int("CHARTEROPS_GOOGLE_SECRET_TTL", default=300)
# Mixed into every event id: staging and production sharing one calendar never collide.
CHARTEROPS_CALENDAR_ID_NAMESPACE = env.str("CHARTEROPS_CALENDAR_ID_NAMESPACE", default="charterops")
CHARTEROPS_CALENDAR_FEED_CACHE_SECONDS = env.int(
    "CHARTEROPS_CALENDAR_FEED_CACHE_SECONDS", default=300
)
if CHARTEROPS_CALENDAR_BACKEND not in {"local", "google"}:
    raise ImproperlyConfigured("CHARTEROPS_CALENDAR_BACKEND must be 'local' or 'google'.")
if CHARTEROPS_CALENDAR_EVENT_STYLE not in {"all_day", "timed"}:
    raise ImproperlyConfigured("CHARTEROPS_CALENDAR_EVENT_STYLE must be 'all_day' or 'timed'.")

# --- Crew -------------------------------------------------------------------------------
SESAME_MAX_AGE = env.int("SESAME_MAX_AGE", default=60 * 60 * 24 * 120)
SESAME_TOKEN_NAME = "sesame"
CHARTEROPS_MILEAGE_RATE = env.str("CHARTEROPS_MILEAGE_RATE", default="0.70")
# Where damage reports and their charter record PDF go.
CHARTEROPS_OPERATIONS_EMAIL = env.str(
    "CHARTEROPS_OPERATIONS_EMAIL", default="ops@queenofsandiego.com"
)
CHARTEROPS_SCC_MIRROR = env.str("CHARTEROPS_SCC_MIRROR", default="")  # "" | dynamodb
SERVICE_KEY_HASH = env.str("SERVICE_KEY_HASH", default="")
# Crew notifications (crew/notifications.py, crew/reminders.py, crew/integrations/).
CHARTEROPS_CREW_LINK_DAYS_AFTER = env.int("CHARTEROPS_CREW_LINK_DAYS_AFTER", default=7)
# Crew links sent before links carried their claims (a bare sesame token) still open their
# charter; switch off once every charter booked before that release is over by the days above.
CHARTEROPS_CREW_LEGACY_LINKS = env.bool("CHARTEROPS_CREW_LEGACY_LINKS", default=True)
CHARTEROPS_CREW_RESPONSE_REMINDER_HOURS = env.int(
    "CHARTEROPS_CREW_RESPONSE_REMINDER_HOURS", default=24
)
CHARTEROPS_CREW_ESCALATION_HOURS = env.int("CHARTEROPS_CREW_ESCALATION_HOURS", default=12)
CHARTEROPS_CREW_REMINDER_HOURS = env.int("CHARTEROPS_CREW_REMINDER_HOURS", default=24)
CHARTEROPS_SCC_EVENTS_TABLE = env.str("CHARTEROPS_SCC_EVENTS_TABLE", default="scc-events")
CHARTEROPS_SCC_ASSIGNMENTS_TABLE = env.str(
    "CHARTEROPS_SCC_ASSIGNMENTS_TABLE", default="scc-crew-assignments"
)
CHARTEROPS_DYNAMODB_ENDPOINT_URL = env.str("CHARTEROPS_DYNAMODB_ENDPOINT_URL", default="") or None
CELERY_BEAT_SCHEDULE.update(
    {
        "crew-reminders": {
            "task": "crew.crew_reminders_run",
            "schedule": timedelta(minutes=15),
        },
        # Outbox rows no fan-out run drives (reminders, new links, staff notices) and
        # expired leases: sent again here.
        "crew-outbox-sweep": {
            "task": "crew.outbox_sweep",
            "schedule": timedelta(seconds=60),
        },
    }
)

# --- Guest pages ------------------------------------------------------------------------
CHARTEROPS_GUEST_PAGE_ORIGIN = env.str("CHARTEROPS_GUEST_PAGE_ORIGIN", default=SITE_URL).rstrip("/")
CHARTEROPS_GUEST_PAGE_CACHE_CONTROL = env.str(
    "CHARTEROPS_GUEST_PAGE_CACHE_CONTROL", default="public, max-age=60"
)
# Guest messages (guestpages/messages.py): the day-before reminder, and the sweep of the outbox.
CHARTEROPS_GUEST_REMINDER_HOURS = env.int("CHARTEROPS_GUEST_REMINDER_HOURS", default=24)
CELERY_BEAT_SCHEDULE.update(
    {
        "guest-reminders": {
            "task": "guestpages.guest_reminders_send",
            "schedule": timedelta(minutes=15),
        },
        "guest-messages-sweep": {
            "task": "guestpages.guest_messages_sweep",
            "schedule": timedelta(seconds=60),
        },
    }
)
# django-ratelimit rates of the photo drop (presign and confirm), per page and per address.
CHARTEROPS_GUEST_PHOTO_RATE_PER_PAGE = env.str(
    "CHARTEROPS_GUEST_PHOTO_RATE_PER_PAGE", default="120/h"
)
CHARTEROPS_GUEST_PHOTO_RATE_PER_ADDRESS = env.str(
    "CHARTEROPS_GUEST_PHOTO_RATE_PER_ADDRESS", default="60/h"
)

# --- Rate limits (charterops/ratelimits.py), per client address, in the shared cache --------
CHARTEROPS_RATE_LIMITS = {
    group: env.str(f"CHARTEROPS_RATE_{group.upper().replace('-', '_')}", default=rate)
    for group, rate in {
        "crew-link": "20/m",  # requests carrying a magic-link token
        "api-token": "120/m",
        "scc-api": "60/m",
        "feed-token": "60/m",
        "local-upload": "30/m",
        "photo-view": "300/m",
        "guest-page": "120/m",
        "guest-endpoint": "120/m",
        "guest-form": "60/m",
    }.items()
}
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    # nginx (deploy/nginx/) *sets* X-Forwarded-For to the client's address: one value.
    RATELIMIT_IP_META_KEY = "HTTP_X_FORWARDED_FOR"

# --- Production checks ------------------------------------------------------------------
if CHARTEROPS_STORAGE == "s3":
    mandatory("CHARTEROPS_GUEST_PAGES_BUCKET", GUEST_PAGES_BUCKET)
if not CELERY_TASK_ALWAYS_EAGER:
    mandatory("CELERY_BROKER_URL", env.str("CELERY_BROKER_URL", default=""))
elif not DEMO and not env.str("CELERY_TASK_ALWAYS_EAGER", default=""):
    mandatory("CELERY_BROKER_URL", "", why="Redis, redis://127.0.0.1:6379/0")
if CHARTEROPS_CALENDAR_BACKEND == "google":
    mandatory("CHARTEROPS_GOOGLE_CALENDAR_ID", CHARTEROPS_GOOGLE_CALENDAR_ID)
if _email_backend.startswith("anymail.backends.amazon_ses"):
    mandatory(
        "ANYMAIL_WEBHOOK_SECRET",
        ",".join(ANYMAIL["WEBHOOK_SECRET"]),
        why="user:password SNS sends to the SES tracking webhook",
    )
if not DEMO:
    # HTTPS only; nginx (deploy/nginx/) terminates TLS and says so in X-Forwarded-Proto.
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    # Only behind a proxy that sets (never forwards) X-Forwarded-Proto: a client could claim https.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if _missing:
    raise ImproperlyConfigured(
        "CharterOps is starting in production mode (CHARTEROPS_MODE is not 'demo') and these "
        "settings are missing or wrong: "
        + "; ".join(_missing)
        + ". See docs/configuration.md; the embedded demo runs with CHARTEROPS_MODE=demo."
    )

# --- Logs and error reports -------------------------------------------------------------
# JSON lines in production (request id, booking id, target, delivery id; never a token, link
# or secret: charterops/observability.py redacts), plain text in the demo.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEMO else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "charterops.observability.ContextFilter"}},
    "formatters": {
        "json": {"()": "charterops.observability.JsonFormatter"},
        "text": {
            "()": "charterops.observability.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "charterops.fanout": {"level": env.str("FANOUT_LOG_LEVEL", default="WARNING")},
        # One line per request and task; the demo keeps its console quiet.
        "charterops.ops": {
            "level": env.str("OPS_LOG_LEVEL", default="WARNING" if DEMO else "INFO")
        },
    },
}
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    # Settings load in web, worker and beat processes alike: all three report.
    from charterops.observability import sentry_init

    sentry_init(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default=CHARTEROPS_MODE),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
