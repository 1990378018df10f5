"""Settings shared by every environment.

Everything that differs between machines is read from the environment with
django-environ; the defaults here are safe for development only, and
``production.py`` refuses to start without the secrets it needs.
"""

from pathlib import Path

import environ
from celery.schedules import crontab

from core.redis import broker_transport_options, redis_cache_settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "django_htmx",
    "simple_history",
    # Linli, lowest layer first (apps import downward only)
    "core",
    "accounts",
    "notifications",
    "buildings",
    "residents",
    "webhooks",
    "issues",
    "deliberation",
    "volunteers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # CSP outside the next one, so that its 503 page has the policy too
    "csp.middleware.CSPMiddleware",
    # the database away: 503 pages and API errors; outside everything that reads it
    "core.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.input_guard.NulParameterGuard",  # a NUL in a parameter is a 400, not a 500
    # axes last: it turns a lockout into its response
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "core.context_processors.navigation",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'linli.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets web, worker and beat share the file without "database is locked"; an
    # IMMEDIATE transaction takes the write lock when it begins, so a transaction that
    # read first (a delivery locked with select_for_update, a no-op here) waits its turn
    # instead of failing at its first write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# Every Redis client (cache, sessions, throttles, broker, results, probes) gives up
# after these many seconds, so a frozen Redis never holds a request (core.redis).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.5)
REDIS_READ_TIMEOUT = env.float("REDIS_READ_TIMEOUT", default=0.5)
# After a cache error, requests leave the cache alone this long before asking again.
REDIS_RETRY_SECONDS = env.float("REDIS_RETRY_SECONDS", default=5.0)
# A session's copy in the cache lives at most this long (core.sessions).
LINLI_SESSION_CACHE_SECONDS = env.int("LINLI_SESSION_CACHE_SECONDS", default=300)
# /readyz: all checks together answer within this many seconds (core.health).
LINLI_READYZ_DEADLINE = env.float("LINLI_READYZ_DEADLINE", default=2.0)
# how long the home page keeps a scope's place counts (a place change refreshes them)
LINLI_HOME_COUNTS_SECONDS = env.int("LINLI_HOME_COUNTS_SECONDS", default=300)
# how long an API key's row and a user's resolved scope are reused across requests
# (revoking a key or changing a role takes effect at once: both are versioned)
LINLI_API_KEY_CACHE_SECONDS = env.int("LINLI_API_KEY_CACHE_SECONDS", default=30)
LINLI_SCOPE_CACHE_SECONDS = env.int("LINLI_SCOPE_CACHE_SECONDS", default=300)
if REDIS_URL:
    CACHES = redis_cache_settings(
        REDIS_URL, connect_timeout=REDIS_CONNECT_TIMEOUT, read_timeout=REDIS_READ_TIMEOUT
    )
else:
    # Shared by web, worker and beat processes on one machine, no server needed.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Auth ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row

# Proxies in front of the web process that append to X-Forwarded-For (docs/deployment.md).
# 0: nothing in front, REMOTE_ADDR is the client. Read by core.net.client_ip (audit
# rows, verification limits, axes) and by DRF's throttles (NUM_PROXIES below).
LINLI_TRUSTED_PROXY_COUNT = env.int("LINLI_TRUSTED_PROXY_COUNT", default=0)

# django-axes: lock an account+address after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
# The client behind LINLI_TRUSTED_PROXY_COUNT proxies (core.net), as the audit log sees it.
AXES_CLIENT_IP_CALLABLE = "core.net.axes_client_ip"
# Attempts and lockouts in the database (not the cache): sign-in works without Redis.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"

# Two-factor for staff (django-otp TOTP). When required, staff must verify a
# TOTP token in the session before admin and staff pages open.
LINLI_STAFF_2FA_REQUIRED = env.bool("LINLI_STAFF_2FA_REQUIRED", default=False)
OTP_TOTP_ISSUER = "Linli 邻里"

# --- Internationalisation ------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media ------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security headers ----------------------------------------------------------------
# Content-Security-Policy (django-csp 4): no inline script anywhere, no CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

# --- REST API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.ApiKeyAuthentication",
        # DRF's, refused to staff whose session has not done two-factor
        "core.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.HasScope"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["core.api.filtering.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttling.ApiKeyRateThrottle",
        "core.api.throttling.UserRateThrottle",
        "core.api.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env("API_KEY_THROTTLE", default="6000/min"),
        "user": env("API_USER_THROTTLE", default="600/min"),
        "anon": env("API_ANON_THROTTLE", default="60/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # the client's address for throttles: the same rule as core.net.client_ip
    "NUM_PROXIES": LINLI_TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Linli 邻里 API",
    "DESCRIPTION": "Community co-governance: places, residents, issues, deliberation.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery --------------------------------------------------------------------------
# Production: Redis. Development (`make run`): kombu's filesystem transport,
# so web, worker and beat talk without any server.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(
    CELERY_BROKER_URL, connect_timeout=REDIS_CONNECT_TIMEOUT, read_timeout=REDIS_READ_TIMEOUT
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
        # the exchange table (kombu's default is ./control, in whatever folder runs it)
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_CONNECT_TIMEOUT  # the Redis result backend
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_READ_TIMEOUT
# Queuing a task from a request (a large import) gives up after one retry when the
# broker is away, instead of Celery's default three (each up to REDIS_READ_TIMEOUT).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The beat schedule is code, reviewed like code.
# Ticks that repeat within minutes expire with their period: a tick queued while no worker
# ran is dropped, not run thousands of times when one starts (the next tick does the work).
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "core.tasks.heartbeat", "schedule": 60.0, "options": {"expires": 60}},
    # wellbeing alerts (residents.tasks): once a day, 07:00 local time
    "wellbeing-alerts": {
        "task": "residents.raise_wellbeing_alerts",
        "schedule": crontab(hour=7, minute=0),
    },
    # visitors' personal fields, LINLI_VISITOR_PURGE_DAYS after the stay (residents.tasks)
    "visitor-purge": {
        "task": "residents.purge_visitor_declarations",
        "schedule": crontab(hour=3, minute=30),
    },
    # the daily jobs of every app (notifications.schedule: elevator inspection reminders
    # at 08:30 ...): a tick every 30 s runs those due, at once on a fresh installation
    "daily-jobs": {
        "task": "notifications.run_daily_jobs",
        "schedule": 30.0,
        "options": {"expires": 30},
    },
    # SMS sign-up / sign-in codes older than a day (accounts.tasks)
    "sms-code-purge": {"task": "accounts.purge_sms_codes", "schedule": crontab(hour=4, minute=0)},
    # notifications (notifications.tasks): the outbox every 10 s, the e-mail digest at
    # 18:00, inbox rows older than LINLI_NOTIFICATION_KEEP_DAYS deleted at 03:45
    "notifications-dispatch": {
        "task": "notifications.dispatch_outbox",
        "schedule": 10.0,
        "options": {"expires": 10},
    },
    "notifications-digest": {
        "task": "notifications.email_digest",
        "schedule": crontab(hour=18, minute=0),
    },
    "notifications-purge": {"task": "notifications.purge", "schedule": crontab(hour=3, minute=45)},
    # reports past their deadline escalate one level (issues.tasks, 约请制), every 5 minutes
    "issue-escalation": {
        "task": "issues.escalate_due",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    # reports resolved LINLI_ISSUE_AUTO_CLOSE_DAYS ago and not confirmed close, hourly
    "issue-auto-close": {
        "task": "issues.auto_close_due",
        "schedule": crontab(minute=20),
        "options": {"expires": 3600},
    },
    # webhook deliveries whose next attempt is due (webhooks.tasks): the retries' clock
    "webhook-retries": {
        "task": "webhooks.deliver_due",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
}

# --- E-mail ---------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Linli 邻里 <noreply@linli.localhost>")

# --- Residents' identity data ------------------------------------------------------
# "kid:base64key,kid2:base64key2" - the first key encrypts, all decrypt.
ID_ENCRYPTION_KEYS = env(
    "ID_ENCRYPTION_KEYS",
    default="dev1:bGlubGktZGV2LW9ubHktaWQta2V5LTMyLWJ5dGVzISE=",
)

# Keyed hash (HMAC) for exact lookup of identifiers; independent of the
# encryption keys so that rotating those does not change any hash.
ID_HASH_KEY = env("ID_HASH_KEY", default="dev-only-id-hash-key-change-me")

# --- Logging ------------------------------------------------------------------------------
# Every handler masks whole ID numbers (core.logging.MaskIdNumbers). Django's own
# loggers and gunicorn's (access and error, when Django loads inside a gunicorn worker)
# are routed to the one filtered console handler; config/gunicorn.py does the same
# for gunicorn before Django loads.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_id_numbers": {"()": "core.logging.MaskIdNumbers"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_id_numbers"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # no handler of their own (Django's defaults are not filtered): up to root
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Linli's own knobs
LINLI_API_KEY_LAST_USED_RESOLUTION = 60  # seconds between last_used_at writes

# Messages live in the session, not a signed cookie: a new API key is shown
# once through a message and must never travel in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# The registry (residents/): each knob read from the environment with its default.
LINLI_HOUSEHOLD_CODE_DAYS = env.int("LINLI_HOUSEHOLD_CODE_DAYS", default=30)
LINLI_VERIFY_MAX_FAILURES = env.int("LINLI_VERIFY_MAX_FAILURES", default=5)
LINLI_VERIFY_WINDOW_MINUTES = env.int("LINLI_VERIFY_WINDOW_MINUTES", default=60)
# per client address, across accounts (unset: 4 x LINLI_VERIFY_MAX_FAILURES)
LINLI_VERIFY_MAX_ADDRESS_FAILURES = env.int("LINLI_VERIFY_MAX_ADDRESS_FAILURES", default=0)
# the public visitor form: how long a household's link works, and its hourly budgets
LINLI_VISITOR_LINK_DAYS = env.int("LINLI_VISITOR_LINK_DAYS", default=30)
LINLI_VISITOR_HOUSEHOLD_PER_HOUR = env.int("LINLI_VISITOR_HOUSEHOLD_PER_HOUR", default=10)
LINLI_VISITOR_ADDRESS_PER_HOUR = env.int("LINLI_VISITOR_ADDRESS_PER_HOUR", default=20)
LINLI_VISITOR_PURGE_DAYS = env.int("LINLI_VISITOR_PURGE_DAYS", default=30)
LINLI_WELLBEING_MIN_AGE = env.int("LINLI_WELLBEING_MIN_AGE", default=80)
LINLI_WELLBEING_GAP_HOURS = env.int("LINLI_WELLBEING_GAP_HOURS", default=48)
LINLI_IMPORT_MAX_BYTES = env.int("LINLI_IMPORT_MAX_BYTES", default=30 * 1024 * 1024)
LINLI_IMPORT_MAX_ROWS = env.int("LINLI_IMPORT_MAX_ROWS", default=200_000)
LINLI_IMPORT_KEEP_HOURS = env.int("LINLI_IMPORT_KEEP_HOURS", default=24)
LINLI_IMPORT_MAX_UNZIPPED_BYTES = env.int("LINLI_IMPORT_MAX_UNZIPPED_BYTES", default=300 * 2**20)
LINLI_IMPORT_MAX_CELLS = env.int("LINLI_IMPORT_MAX_CELLS", default=4_000_000)
LINLI_IMPORT_BACKGROUND_ROWS = env.int("LINLI_IMPORT_BACKGROUND_ROWS", default=5000)

# Webhooks (webhooks/): on-premise receivers admitted despite the address guard (host names
# or CIDRs, comma-separated), and the time one attempt may take, in seconds.
LINLI_WEBHOOK_ALLOWED_HOSTS = env.list("LINLI_WEBHOOK_ALLOWED_HOSTS", default=[])
LINLI_WEBHOOK_TIMEOUT = env.float("LINLI_WEBHOOK_TIMEOUT", default=10.0)

# Notifications (notifications/): SMS backend and gateway, quiet hours, retries, keeping.
LINLI_SMS_BACKEND = env("LINLI_SMS_BACKEND", default="core.sms.ConsoleSmsBackend")
LINLI_SMS_GATEWAY_URL = env("LINLI_SMS_GATEWAY_URL", default="")
LINLI_SMS_GATEWAY_USER = env("LINLI_SMS_GATEWAY_USER", default="")
LINLI_SMS_GATEWAY_PASSWORD = env("LINLI_SMS_GATEWAY_PASSWORD", default="")
LINLI_SMS_GATEWAY_TEMPLATE = env(
    "LINLI_SMS_GATEWAY_TEMPLATE", default="phone=$phone&message=$message"
)
LINLI_SMS_GATEWAY_TIMEOUT = env.float("LINLI_SMS_GATEWAY_TIMEOUT", default=5.0)
LINLI_SMS_QUIET_HOURS = env("LINLI_SMS_QUIET_HOURS", default="21:00-08:00")  # "" for none
LINLI_SMS_QUIET_TIMEZONE = env("LINLI_SMS_QUIET_TIMEZONE", default="Asia/Shanghai")
LINLI_NOTIFICATION_MAX_ATTEMPTS = env.int("LINLI_NOTIFICATION_MAX_ATTEMPTS", default=6)
LINLI_NOTIFICATION_RETRY_SECONDS = env.int("LINLI_NOTIFICATION_RETRY_SECONDS", default=60)
LINLI_NOTIFICATION_KEEP_DAYS = env.int("LINLI_NOTIFICATION_KEEP_DAYS", default=180)

# Images (core.images): every uploaded photo is judged by content, its metadata stripped,
# resized and thumbnailed; larger files or pixel counts are refused with a message.
LINLI_IMAGE_MAX_BYTES = env.int("LINLI_IMAGE_MAX_BYTES", default=10 * 2**20)
LINLI_IMAGE_MAX_PIXELS = env.int("LINLI_IMAGE_MAX_PIXELS", default=40_000_000)
LINLI_IMAGE_MAX_SIDE = env.int("LINLI_IMAGE_MAX_SIDE", default=2048)
LINLI_IMAGE_THUMB_SIDE = env.int("LINLI_IMAGE_THUMB_SIDE", default=400)

# Issue reporting (issues/)
LINLI_ISSUE_MAX_PHOTOS = env.int("LINLI_ISSUE_MAX_PHOTOS", default=9)
# a resolved report the reporter neither confirms nor reopens closes after this many days
LINLI_ISSUE_AUTO_CLOSE_DAYS = env.int("LINLI_ISSUE_AUTO_CLOSE_DAYS", default=7)
# handlers with fewer reports in the period are listed on the board but not ranked
LINLI_ISSUE_BOARD_MIN_REPORTS = env.int("LINLI_ISSUE_BOARD_MIN_REPORTS", default=3)
LINLI_ISSUE_HOTLINE_MAX_BYTES = env.int("LINLI_ISSUE_HOTLINE_MAX_BYTES", default=5 * 2**20)
LINLI_ISSUE_HOTLINE_MAX_ROWS = env.int("LINLI_ISSUE_HOTLINE_MAX_ROWS", default=2000)

# Open311 GeoReport v2 (issues/open311/, docs/open311.md)
# GET of public reports without an API key, as the specification allows
LINLI_OPEN311_PUBLIC_READ = env.bool("LINLI_OPEN311_PUBLIC_READ", default=True)
# the jurisdiction_id this server answers to ("": the request's host name)
LINLI_OPEN311_JURISDICTION = env("LINLI_OPEN311_JURISDICTION", default="")
LINLI_OPEN311_MAX_REQUESTS = env.int("LINLI_OPEN311_MAX_REQUESTS", default=1000)
# a POST's lat/long lands on the nearest estate within this distance
LINLI_OPEN311_MATCH_METRES = env.int("LINLI_OPEN311_MATCH_METRES", default=500)
LINLI_OPEN311_CONTACT = env("LINLI_OPEN311_CONTACT", default="")
LINLI_OPEN311_KEY_SERVICE = env("LINLI_OPEN311_KEY_SERVICE", default="")
