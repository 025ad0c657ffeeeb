"""CharterOps settings: everything from the environment, embedded defaults when nothing is set."""

from __future__ import annotations

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


def mandatory(name: str, value: str) -> str:
    """Refuse to start in production without a secret; the message names the variable."""
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set when DJANGO_DEBUG=false (see docs/configuration.md)."
        )
    return value


# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=True)
_dev_key_file = VAR_DIR / "dev-secret-key"
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if not SECRET_KEY:
        if not _dev_key_file.exists():
            _dev_key_file.write_text(secrets.token_urlsafe(50))
        SECRET_KEY = _dev_key_file.read_text().strip()
else:
    SECRET_KEY = mandatory("SECRET_KEY", env.str("SECRET_KEY", default=""))

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("CHARTEROPS_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

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
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'charterops.sqlite3'}")
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
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://charterops")}

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
_email_backend = env.str(
    "EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
)
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
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "fanout-sweep": {"task": "charterops.fanout_sweep", "schedule": timedelta(seconds=30)},
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
    "calendar": "bookings.calendar.CalendarTarget",
    "crew": "crew.fanout.CrewTarget",
    "checklist": "crew.checklist.ChecklistTarget",
    "guest_page": "guestpages.publishing.GuestPageTarget",
}
if env.str("CHARTEROPS_FANOUT_FAKE", default=""):
    # Benchmarks and real-worker tests: every target is a fake with configured latency/failures.
    CHARTEROPS_FANOUT_TARGETS = dict.fromkeys(
        CHARTEROPS_FANOUT_TARGETS, "charterops.fanout.fakes.FakeTarget"
    )
# Queue of the fan-out tasks; empty = Celery's default queue. Workers must consume it (-Q).
CHARTEROPS_FANOUT_QUEUE = env.str("CHARTEROPS_FANOUT_QUEUE", default="")
CHARTEROPS_FANOUT_MAX_ATTEMPTS = env.int("CHARTEROPS_FANOUT_MAX_ATTEMPTS", default=8)
CHARTEROPS_FANOUT_BACKOFF_BASE = env.float("CHARTEROPS_FANOUT_BACKOFF_BASE", default=2.0)
CHARTEROPS_FANOUT_BACKOFF_CAP = env.float("CHARTEROPS_FANOUT_BACKOFF_CAP", default=600.0)
CHARTEROPS_FANOUT_LEASE_SECONDS = env.int("CHARTEROPS_FANOUT_LEASE_SECONDS", default=120)

# --- Bookings intake (webhook, API) -----------------------------------------------------
# Webhook secrets are read per source from CHARTEROPS_WEBHOOK_SECRETS_<SOURCE> at request time.
CHARTEROPS_WEBHOOK_MAX_BYTES = 256 * 1024
CHARTEROPS_WEBHOOK_TOLERANCE_SECONDS = 300
# Deliveries failing the signature stored per source, address and minute; beyond it, 429.
CHARTEROPS_WEBHOOK_REFUSALS_PER_MINUTE = env.int(
    "CHARTEROPS_WEBHOOK_REFUSALS_PER_MINUTE", default=60
)
# Queue of the task that applies stored webhook deliveries; empty = Celery's default queue.
# A queue of its own keeps new bookings from waiting behind a fan-out backlog.
CHARTEROPS_INTAKE_QUEUE = env.str("CHARTEROPS_INTAKE_QUEUE", default="")
if CHARTEROPS_INTAKE_QUEUE:
    CELERY_BEAT_SCHEDULE["webhook-deliveries-drain"]["options"] = {"queue": CHARTEROPS_INTAKE_QUEUE}

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
    }
)

# --- Guest pages ------------------------------------------------------------------------
CHARTEROPS_GUEST_PAGE_ORIGIN = env.str("CHARTEROPS_GUEST_PAGE_ORIGIN", default=SITE_URL).rstrip("/")
CHARTEROPS_GUEST_PAGE_CACHE_CONTROL = env.str(
    "CHARTEROPS_GUEST_PAGE_CACHE_CONTROL", default="public, max-age=60"
)
# django-ratelimit rates of the photo drop (presign and confirm), per page and per address.
CHARTEROPS_GUEST_PHOTO_RATE_PER_PAGE = env.str(
    "CHARTEROPS_GUEST_PHOTO_RATE_PER_PAGE", default="120/h"
)
CHARTEROPS_GUEST_PHOTO_RATE_PER_ADDRESS = env.str(
    "CHARTEROPS_GUEST_PHOTO_RATE_PER_ADDRESS", default="60/h"
)

# --- Production checks ------------------------------------------------------------------
if not DEBUG:
    if CHARTEROPS_STORAGE == "s3":
        mandatory("CHARTEROPS_GUEST_PAGES_BUCKET", GUEST_PAGES_BUCKET)
    if not CELERY_TASK_ALWAYS_EAGER:
        mandatory("CELERY_BROKER_URL", env.str("CELERY_BROKER_URL", default=""))
    if CHARTEROPS_CALENDAR_BACKEND == "google":
        mandatory("CHARTEROPS_GOOGLE_CALENDAR_ID", CHARTEROPS_GOOGLE_CALENDAR_ID)
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "charterops.fanout": {"level": env.str("FANOUT_LOG_LEVEL", default="WARNING")},
    },
}
