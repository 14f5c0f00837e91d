"""Settings of the LMS, read from the environment with safe defaults for a laptop.

With no variable set the LMS runs on SQLite under var/, the in-memory channel layer, the local
memory cache, Celery in eager mode and local file storage. DATABASE_URL and REDIS_URL switch to
PostgreSQL and Redis. With DJANGO_DEBUG off it refuses to start without a real secret key and
allowed hosts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LMS_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# How many reverse proxies in front of the application append to X-Forwarded-For (nginx of the
# compose file: 1; ingress: 1). 0 trusts no header and uses the socket's address.
LMS_TRUSTED_PROXIES = int(os.environ.get("LMS_TRUSTED_PROXIES", "0"))

DEFAULT_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105 - refused in production
DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else ""
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
TESTING = "pytest" in sys.modules or os.environ.get("LMS_TESTING") == "1"
# The certificates' signing keys (certification.keys): production gives them in the environment;
# with DEBUG, in the tests, or where LMS_CERTIFICATION_GENERATE_KEYS says so (the load test, which
# runs with DEBUG off as production does and issues certificates as production does), they are
# generated into VAR_DIR on first use. Off, a certificate's issuance fails until keys are given.
CERTIFICATION_GENERATE_KEYS = env_bool("LMS_CERTIFICATION_GENERATE_KEYS", DEBUG or TESTING)

if not DEBUG:
    if SECRET_KEY == DEFAULT_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "DJANGO_DEBUG is off: set DJANGO_SECRET_KEY to a random string of at least 32 characters."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_DEBUG is off: set DJANGO_ALLOWED_HOSTS to the host names the LMS answers on "
            "(comma-separated, for example lms.example.org)."
        )
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True

SITE_URL = os.environ.get("LMS_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]
# The platform core, lowest first.
LMS_APPS = [
    "lms.accounts",
    "lms.xapi",
    "courses",
    "assessments",
    "accreditation",
    "certification",
    "community",
    "lms.dashboards",
    "loadtests",
]
INSTALLED_APPS += LMS_APPS

MIDDLEWARE = [
    "lms.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "lms.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "lms.compression.GZipMiddleware",
    "lms.accounts.sessions.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lms.accounts.middleware.UserLanguageMiddleware",
    "lms.input_guard.InputGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The LRS's API called with credentials (launched content, LRS clients) needs none of the
# pages' session, CSRF, messages or framing rules: lms.handlers serves it with this list.
API_MIDDLEWARE = [
    "lms.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "lms.compression.GZipMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "lms.input_guard.InputGuardMiddleware",
]

ROOT_URLCONF = "lms.urls"
WSGI_APPLICATION = "lms.wsgi.application"
ASGI_APPLICATION = "lms.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "lms" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lms.context_processors.platform",
            ],
            "libraries": {"chrome": "lms.chrome"},
        },
    },
]

# Database: SQLite by default, PostgreSQL (psycopg 3) from DATABASE_URL.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # A health check costs a `SELECT 1` round trip at the start of every request that uses the
    # database; without it, a connection broken by a database restart fails one request per
    # worker, and Django then opens a new one. Off unless DB_CONN_HEALTH_CHECKS=1.
    _db = dj_database_url.parse(
        DATABASE_URL, conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", False)
    )
    if _db["ENGINE"] == "django.db.backends.postgresql":
        if env_bool("DB_POOL", False):
            _db["CONN_MAX_AGE"] = 0
            _db.setdefault("OPTIONS", {})["pool"] = {
                "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
                "max_size": int(os.environ.get("DB_POOL_MAX", "20")),
            }
        elif env_bool("LMS_ASGI", False):
            # An ASGI server (Daphne) runs each HTTP request in a new thread: a connection kept
            # for the next request stays with its dead thread, and one Daphne process serving
            # the LRS held 94 of PostgreSQL's 100 (then "too many clients": 500s). Django's
            # advice: no persistent connections under ASGI, or its pool (DB_POOL=1).
            _db["CONN_MAX_AGE"] = 0
        else:
            _db["CONN_MAX_AGE"] = int(os.environ.get("DB_CONN_MAX_AGE", "60"))
        # Behind PgBouncer in transaction mode (deploy/) each transaction may run on another
        # server connection: a cursor declared outside a transaction (QuerySet.iterator())
        # would be looked for on the wrong one. Django then reads such results whole instead.
        # The connection to the pooler itself stays open between requests (DB_CONN_MAX_AGE):
        # the pooler keeps the time zone and encoding per client, and a new connection per
        # request would pay a TCP connect and a SCRAM authentication each time.
        _db["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DB_TRANSACTION_POOLING", False)
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "lms.sqlite3"),
            # IMMEDIATE: a transaction takes the write lock when it begins, so that two requests
            # that read then write wait for each other (up to the timeout) instead of one failing
            # at once with "database is locked" (two clicks on a forum reply did).
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# The hot paths' hand-written SQL as prepared statements (lms/db.py). Behind PgBouncer it needs
# max_prepared_statements above 0 (PgBouncer 1.21 and later; deploy/ sets it): turn it off for
# a pooler without it.
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: cache, channel layer, Celery broker and results.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "lms.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("LMS_CACHE_PREFIX", "lms"),
            # Sessions and signed-in persons (lms.accounts.principal's prefix), read by every
            # signed-in page, and the lesson player's state of an enrolment (courses.player_state):
            # each process keeps copies that Redis invalidates (lms/near_cache.py).
            "OPTIONS": {
                "near_prefixes": (
                    [
                        "django.contrib.sessions.cached_db",
                        "accounts:principal:v2:",
                        "courses:player:v1:",
                    ]
                    if env_bool("LMS_NEAR_CACHE", True)
                    else []
                )
            },
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's asyncio pool refuses a connection beyond its size (100 by default)
                # instead of waiting: 200 dashboards connecting at once failed with HTTP 500.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": int(
                            os.environ.get("LMS_CHANNELS_MAX_CONNECTIONS", "1000")
                        ),
                        # Longer than channels_redis's 5 s BZPOPMIN: at redis-py's default of 5 s
                        # an idle consumer's read sometimes timed out as the server answered,
                        # which closed the socket with an error (seen once in a capacity run).
                        "socket_timeout": 15,
                    }
                ],
                "prefix": os.environ.get("LMS_CHANNELS_PREFIX", "lms"),
                "capacity": 1000,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL or "cache+memory://")
# Tests run tasks eagerly (nothing left queued between tests); the celery_worker fixture turns
# this off for the tests that exercise a real worker on Redis.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL or TESTING)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker's database connection lives as a web process's does (CONN_MAX_AGE, closed when
# broken: lms/celery.py); Celery's own fix-up would close it around every task, and now closes
# it only every this many tasks (0: around every task again, Celery's default).
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

SESSION_ENGINE = "lms.accounts.sessions"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "lms.accounts.backends.EmailBackend",
    "lms.accounts.permissions.ScopedPermissionBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 7  # invitation and reset links last a week
LOCKOUT_THRESHOLD = int(os.environ.get("LMS_LOCKOUT_THRESHOLD", "5"))
LOCKOUT_MINUTES = int(os.environ.get("LMS_LOCKOUT_MINUTES", "15"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "lms.accounts.hashers.Argon2idHasher",  # why: lms/accounts/hashers.py
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

# Languages: English, Spanish, Portuguese, French everywhere a person reads.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("pt", _("Portuguese")),
    ("fr", _("French")),
]
LANGUAGE_CODES = [code for code, _name in LANGUAGES]
# Django merges every catalogue of a language into one, where a message has one translation: an
# app listed earlier in INSTALLED_APPS wins over a later one, and LOCALE_PATHS win over all apps.
# Our apps' catalogues are listed here so that our words win over Django's and the other
# libraries' for the same English text (the admin's "Filter" read "Filtro" on our buttons, its
# European Portuguese "palavra-passe" replaced our "senha"). Among ours a message reads the same
# in every catalogue (tests/platform/test_catalogues.py), so their order does not matter.
# Last, and still above every app's: Django's and the libraries' own Brazilian Portuguese, built as
# our "pt" by compile_catalogues (their "pt" is European Portuguese: the password form read
# "palavra-passe" to Brazilian officers, whose every other page says "senha").
DJANGO_PT_BR_AS_PT = BASE_DIR / "lms" / "locale_pt_br"
LOCALE_PATHS = [
    BASE_DIR / "locale",
    *(
        BASE_DIR.joinpath(*name.split("."), "locale")
        for name in LMS_APPS
        if BASE_DIR.joinpath(*name.split("."), "locale").is_dir()
    ),
    DJANGO_PT_BR_AS_PT,
]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "lms" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("LMS_MEDIA_ROOT", VAR_DIR / "media"))
# Uploaded files are served by lms.media after its permission checks; behind nginx, set to the
# internal location that sends them (deploy/nginx/lms.conf: /protected-media/), so that the
# web process only says which file; unset, the web process streams the file itself.
LMS_MEDIA_ACCEL_PREFIX = os.environ.get("LMS_MEDIA_ACCEL_PREFIX", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
# A marked attendance sheet sends one field per officer: Django's 1,000 refused (400) the sheet
# of any session of a thousand officers or more.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
# From how many officers a coordinator's "everyone matching" runs as a background job.
LMS_ENROL_IN_BACKGROUND_FROM = int(os.environ.get("LMS_ENROL_IN_BACKGROUND_FROM", "2000"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.locmem.EmailBackend"
    if TESTING
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "lms@police-network.example.org")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "lms.rest.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # DRF's own, but with a translated "not valid JSON" and "Not found." (lms.rest)
    "DEFAULT_PARSER_CLASSES": [
        "lms.rest.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "lms.rest.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Police Training Network LMS API",
    "DESCRIPTION": "Catalogue, enrolments and progress for institutions' own systems.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Structured logs: one JSON object a line in production, readable lines on a laptop.
LOG_JSON = env_bool("LMS_LOG_JSON", not DEBUG)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "lms.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_JSON else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LMS_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Services required (CI): a test that needs PostgreSQL, Redis or a worker fails instead of skipping.
LMS_REQUIRE_SERVICES = env_bool("LMS_REQUIRE_SERVICES", False)
SILENCED_SYSTEM_CHECKS = ["models.W047"]  # SQLite laptops: PostgreSQL enforces NULLS NOT DISTINCT
FORMS_URLFIELD_ASSUME_HTTPS = True
