"""Samvirke settings: one module, every value from the environment.

Defaults are safe for production; `make run` turns DEBUG on explicitly. Secrets have no
production default, so a missing key stops the start instead of running with a known value.
"""

import datetime
from pathlib import Path

from environs import Env

BASE_DIR = Path(__file__).resolve().parent.parent

env = Env()
env.read_env(BASE_DIR / ".env", recurse=False)

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("SAMVIRKE_TESTING", default=False)

_DEV = DEBUG or TESTING


def _secret(name: str, dev_default: str) -> str:
    """Required in production (the start fails without it); a known value only in dev/tests."""
    return env.str(name, default=dev_default) if _DEV else env.str(name)


SECRET_KEY = _secret("SECRET_KEY", "dev-only-not-secret")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# CPR numbers are encrypted at rest with their own keys, never derived from SECRET_KEY, so a
# rotated SECRET_KEY cannot make them unreadable. Base64 of 32 random bytes each.
CPR_ENCRYPTION_KEY = _secret("CPR_ENCRYPTION_KEY", "ZGV2LW9ubHktY3ByLWtleS0zMi1ieXRlcy1sb25nISE=")
CPR_INDEX_KEY = _secret("CPR_INDEX_KEY", "ZGV2LW9ubHktY3ByLWluZGV4LWtleS0zMmJ5dGVzISE=")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # backup codes (stored as keyed hashes, twofactor.py)
    "django_filters",
    "django_htmx",
    "csp",
    "cooperation",
    "cases",
    "stalkingpakke",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Before the session limits, which leave a message on the login page when they end one.
    "django.contrib.messages.middleware.MessageMiddleware",
    "cooperation.middleware.SessionLimitsMiddleware",
    "cooperation.twofactor.RequireOTPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "cases.middleware.NoStoreMiddleware",
    # Last, as django-axes asks: turns its lockout signal into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "cooperation.context_processors.roles",
                "cooperation.context_processors.today",
            ],
        },
    }
]

DATABASES = {
    "default": env.dj_db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Parameters bound on the server and statements prepared after a few runs on a connection:
    # PostgreSQL then plans the hot queries of a page once per connection, not per request (the
    # case page's SQL time halves, bench/README.md). Off behind a transaction-mode pooler such
    # as PgBouncer before 1.21, which cannot keep prepared statements.
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "server_side_binding": True,
            "prepare_threshold": env.int("DB_PREPARE_THRESHOLD", default=5),
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before the rest
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing is not what the tests are about; the real hasher makes each login ~0.3 s.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Lockout after repeated failed logins (django-axes), per username from the same address.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = datetime.timedelta(minutes=30)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
# The client's address, for the lockout and the audit trail (django-ipware). 0 proxies: the
# socket address (REMOTE_ADDR) only, X-Forwarded-For is never read. N > 0 reverse proxies of
# our own, each appending the address it saw: the client is the N-th entry from the right;
# entries further left are whatever the client sent and are ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_IPWARE_PROXY_ORDER = "left-most"
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT - 1 if TRUSTED_PROXY_COUNT > 0 else None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if TRUSTED_PROXY_COUNT > 0 else ("REMOTE_ADDR",)
)
AXES_IPWARE_PROXY_TRUSTED_IPS = None
# Not strict: a forged left part makes the header longer; the entry our proxy wrote still counts.
IPWARE_STRICT = False
# Two-factor login (TOTP) for every role that can see case data; off for `make run` and tests.
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=not _DEV)
OTP_TOTP_ISSUER = "Samvirke"
OTP_TOTP_THROTTLE_FACTOR = 1  # axes does not count OTP failures; django-otp slows them down
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # an administrator can reset a device, never read its key
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user object, nobody anonymous sees a case
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "da"
LANGUAGES = [("da", "Dansk"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Copenhagen"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Collected when the image is built (Dockerfile): the code's directory is read-only at run time.
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Sessions end after idle time; personal data pages are never cached.
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=10 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not TESTING)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No inline script or style anywhere: everything comes from our own static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Celery: without a broker the tasks run in-process (the embedded default of `make run`).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis down or hung must not hang a web request: connect and command timeouts (without them
# a publish waits for ever on a Redis that accepts but never answers) and one publish attempt
# (redis-py itself reconnects a pooled connection after a Redis restart). Measured: Redis
# stopped 0.0 s, unreachable 1 s, hung 2 s. A PDF request that cannot be sent stays in the
# outbox and the relay sends it (stalkingpakke.tasks).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 2 * 60 * 60,
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Where beat keeps when each task last ran; it must be writable by the user beat runs as
# (docker-compose: a volume, since the code's directory is read-only to that user).
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default="celerybeat-schedule"
)
CELERY_BEAT_SCHEDULE = {
    "remind-overdue-triage": {
        "task": "cases.tasks.remind_overdue_triage",
        "schedule": 60 * 60 * 6,
    },
    # Sends PDF requests that never reached Redis, or whose message was lost with its worker.
    "relay-pending-documents": {
        "task": "stalkingpakke.tasks.relay_pending_documents",
        "schedule": 60,
        "options": {"expires": 50},
    },
    # Referral mails (acute alerts, notices to the recipient) that never reached the broker
    # (cases.alerts).
    "relay-referral-alerts": {
        "task": "cases.tasks.relay_referral_alerts",
        "schedule": 60,
        "options": {"expires": 50},
    },
    # A disqualified user's attempt to open a case must reach the data protection officers.
    "notify-flagged-access": {
        "task": "cases.tasks.notify_flagged_access",
        "schedule": 60 * 15,
        "options": {"expires": 60 * 10},
    },
    # Sessions past their expiry (SESSION_COOKIE_AGE after their last save): a browser closed
    # without logging out leaves its row behind otherwise.
    "clear-expired-sessions": {
        "task": "cooperation.tasks.clear_expired_sessions",
        "schedule": 60 * 60,
        "options": {"expires": 60 * 30},
    },
    "delete-expired-consultations": {
        "task": "cooperation.tasks.delete_expired_consultations",
        "schedule": 60 * 60 * 24,
        "options": {"expires": 60 * 60},
    },
    # The citizen's copies are files with everything on a case: deleted after 48 hours.
    "delete-expired-subject-access-copies": {
        "task": "stalkingpakke.tasks.delete_expired_subject_access_copies",
        "schedule": 60 * 60,
        "options": {"expires": 60 * 30},
    },
}

# The address users reach Samvirke at (https://samvirke.kommune.dk), for the links in e-mails;
# without it they carry the path only.
SITE_URL = env.str("SITE_URL", default="").rstrip("/")

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    # Sessions stay in the database (one primary-key read a request): read from this cache,
    # every logged-in page would fail while Redis is down (tests/test_faults.py).

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="samvirke@localhost")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
# A mail is sent under a referral's row lock (cases.alerts): a hung mail server must not hold
# it, and the case behind it, for ever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)

# Default triage deadline in Danish working days; a municipality can set its own.
DEFAULT_TRIAGE_WORKING_DAYS = env.int("DEFAULT_TRIAGE_WORKING_DAYS", default=5)
# The shortest retention a municipality can set: one administrator alone must not be able to
# have recent cases anonymised by lowering the rule first (changes are audited too).
RETENTION_MIN_YEARS = env.int("RETENTION_MIN_YEARS", default=3)
# Answered and withdrawn consultations (sparring, no personal data) are deleted this many
# years after they were asked (cooperation.consultations.delete_expired, Celery beat daily).
CONSULTATION_RETENTION_YEARS = env.int("CONSULTATION_RETENTION_YEARS", default=2)
# How long the citizen's copy (indsigt) is kept after it was ordered: long enough to be fetched
# and sent on, short enough not to become one more copy of everything on the case.
SUBJECT_ACCESS_KEEP_HOURS = env.int("SUBJECT_ACCESS_KEEP_HOURS", default=48)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "above_debug": {
            "()": "django.utils.log.CallbackFilter",
            "callback": "ext://config.logging_filters.above_debug",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # WeasyPrint and fontTools narrate every layout step at INFO.
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        # At DEBUG Django logs a template's whole context (a revealed CPR number) for each
        # variable it cannot resolve: never, whatever LOG_LEVEL says.
        "django.template": {"level": "INFO", "filters": ["above_debug"]},
    },
}
