"""Production: every secret from the environment, HTTPS only, Redis, PostgreSQL.

Required: SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, ID_ENCRYPTION_KEYS.
Importing this module without them raises ImproperlyConfigured at start-up.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False


def _required(name):
    value = env(name, default="")
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable for production.")
    return value


SECRET_KEY = _required("SECRET_KEY")
ALLOWED_HOSTS = [h for h in _required("ALLOWED_HOSTS").split(",") if h]
ID_ENCRYPTION_KEYS = _required("ID_ENCRYPTION_KEYS")
DATABASES = {"default": env.db_url_config(_required("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
REDIS_URL = _required("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "linli",
    }
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# HTTPS behind a terminating proxy.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = False
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LINLI_STAFF_2FA_REQUIRED = env.bool("LINLI_STAFF_2FA_REQUIRED", default=True)
