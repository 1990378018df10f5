"""Production: every secret from the environment, HTTPS only, Redis, PostgreSQL.

Required: SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, ID_ENCRYPTION_KEYS,
ID_HASH_KEY.
Importing this module without one of them raises ImproperlyConfigured naming it,
so a misconfigured process stops at start-up instead of running with a default.
"""

from django.core.exceptions import ImproperlyConfigured

from core.redis import redis_settings

from .base import *  # noqa: F403
from .base import MIDDLEWARE, REDIS_CONNECT_TIMEOUT, REDIS_READ_TIMEOUT, env

DEBUG = False


def _required(name):
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable for production.")
    return value


SECRET_KEY = _required("SECRET_KEY")
ALLOWED_HOSTS = [h.strip() for h in _required("ALLOWED_HOSTS").split(",") if h.strip()]
ID_ENCRYPTION_KEYS = _required("ID_ENCRYPTION_KEYS")
ID_HASH_KEY = _required("ID_HASH_KEY")

DATABASES = {"default": env.db_url_config(_required("DATABASE_URL"))}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable database fails fast (and /readyz answers) instead of hanging.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )

REDIS_URL = _required("REDIS_URL")
# Cache, sessions (core.sessions: the database when the cache is away), broker and
# results, each with REDIS_CONNECT_TIMEOUT / REDIS_READ_TIMEOUT (core.redis).
_redis = redis_settings(
    REDIS_URL,
    broker_url=env.str("CELERY_BROKER_URL", default=REDIS_URL),
    result_backend=env.str("CELERY_RESULT_BACKEND", default=REDIS_URL),
    connect_timeout=REDIS_CONNECT_TIMEOUT,
    read_timeout=REDIS_READ_TIMEOUT,
)
CACHES = _redis["CACHES"]
SESSION_ENGINE = _redis["SESSION_ENGINE"]
CELERY_BROKER_URL = _redis["CELERY_BROKER_URL"]
CELERY_BROKER_TRANSPORT_OPTIONS = _redis["CELERY_BROKER_TRANSPORT_OPTIONS"]
CELERY_RESULT_BACKEND = _redis["CELERY_RESULT_BACKEND"]
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = _redis["CELERY_REDIS_SOCKET_CONNECT_TIMEOUT"]
CELERY_REDIS_SOCKET_TIMEOUT = _redis["CELERY_REDIS_SOCKET_TIMEOUT"]

# Static files: whitenoise serves the hashed, compressed files that
# `manage.py collectstatic` wrote (the Docker image runs it at build time).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Mail goes out through SMTP unless told otherwise (never silently to a console).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")

# /healthz and /readyz answer before anything else (plain HTTP, any Host):
# see core.health.ProbeMiddleware.
MIDDLEWARE = ["core.health.ProbeMiddleware", *MIDDLEWARE]

# HTTPS behind a terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Kept even with ProbeMiddleware first, should the middleware order ever change.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LINLI_STAFF_2FA_REQUIRED = env.bool("LINLI_STAFF_2FA_REQUIRED", default=True)
