"""Settings for the commerce sync hub: the only settings module, everything read from the environment.

Defaults run the demo on one machine (SQLite, django-q2's ORM broker, console email). Production
sets DEBUG=False and the variables listed in README.md; `check --deploy` is clean with them.
"""

import base64
import hashlib
import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _env_or_fail(read, name, **kwargs):
    """Read one variable; a malformed value stops start-up with a sentence naming it."""
    try:
        return read(name, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{name} is not valid: {exc}") from exc


DEBUG = _env_or_fail(env.bool, "DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Credentials at rest: a comma-separated list of Fernet keys, newest first (MultiFernet rotation).
_encryption_keys = env.list("FIELD_ENCRYPTION_KEY", default=[])
if not _encryption_keys:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be set when DEBUG is off.")
    _encryption_keys = [base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()]
FIELD_ENCRYPTION_KEYS = _encryption_keys

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "syncing",
    "invoices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "syncsite.urls"
WSGI_APPLICATION = "syncsite.wsgi.application"

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

DATABASES = {"default": _env_or_fail(env.db, "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # Several processes (web, cluster workers) share the file: wait for locks, take the write
    # lock at BEGIN so a read-then-write never deadlocks, and let readers run beside a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory, so a test's django-q2 cluster and other processes it starts see it; one
    # per test session (children inherit the variable), so concurrent sessions never share one.
    os.environ.setdefault("SYNCHUB_SQLITE_TEST_DB", str(VAR_DIR / f"test-{os.getpid()}.sqlite3"))
    DATABASES["default"]["TEST"] = {"NAME": os.environ["SYNCHUB_SQLITE_TEST_DB"]}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "syncing:login"
LOGIN_REDIRECT_URL = "syncing:overview"
LOGOUT_REDIRECT_URL = "syncing:login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# In development whitenoise serves from the finders; production serves the collected, hashed files.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

vars().update(_env_or_fail(env.email_url, "EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Sync hub <sync@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security: on by default whenever DEBUG is off, each switchable for a proxy setup.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# django-q2: our tasks catch their own errors and reschedule; the cluster never re-runs them
# (timeout < retry, one attempt, no catch-up of missed schedules).
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="synchub"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=600),
    "retry": env.int("Q_TIMEOUT", default=600) + 60,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 1000,
    "ack_failures": True,
    "poll": 1,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# Sign-in throttling and API rate limits count in the cache: shared through Redis when there is
# one; otherwise per process, which is right for the single-process demo only.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# Provider API calls: how long the ApiCall log is kept (ApiUsage counters are kept for good).
API_CALL_RETENTION_DAYS = env.int("API_CALL_RETENTION_DAYS", default=30)

# The outbox: a refused entry is retried every few hours and given up after so many attempts;
# past a handful of outbox emails a day, a tenant's owners get one daily digest instead.
OUTBOX_ATTENTION_RETRY_HOURS = env.int("OUTBOX_ATTENTION_RETRY_HOURS", default=3)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
OUTBOX_EMAILS_BEFORE_DIGEST = env.int("OUTBOX_EMAILS_BEFORE_DIGEST", default=5)
# Where a provider takes many invoices per call (Xero), a new invoice waits up to this long for a
# full batch; longer (at most 6 hours) while the month's plan is spent ahead of the calendar.
OUTBOX_BATCH_WAIT_MINUTES = env.int("OUTBOX_BATCH_WAIT_MINUTES", default=30)
# How long after a business day ends (tenant's time zone) its summary invoice posts.
DAILY_SUMMARY_GRACE_MINUTES = env.int("DAILY_SUMMARY_GRACE_MINUTES", default=60)
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=120)

# Outgoing webhooks to loopback or private addresses are refused in production, so an API key
# cannot make the server call its own network; the demo and tests deliver to loopback.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
