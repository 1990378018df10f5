"""Production settings: every secret from the environment, `check --deploy` clean."""

import importlib
import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import PRODUCTION_ENV

REQUIRED = [
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "ID_ENCRYPTION_KEYS",
    "ID_HASH_KEY",
]


def _clean_env(**extra):
    """A minimal environment: nothing leaks in from the developer's shell."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra)
    return env


def _manage(*args, env, cwd=None):
    return subprocess.run(  # noqa: S603 - our interpreter, our arguments
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env=env,
        cwd=cwd or settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _dot_env_defines(name):
    dot_env = settings.BASE_DIR / ".env"
    if not dot_env.exists():
        return False
    return any(line.strip().startswith(f"{name}=") for line in dot_env.read_text().splitlines())


def test_deploy_check_passes_with_the_required_variables():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", env=_clean_env(**PRODUCTION_ENV)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_start_up_without_secret_key_fails_naming_it():
    env = _clean_env(**{k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"})
    if _dot_env_defines("SECRET_KEY"):
        env["SECRET_KEY"] = ""  # a developer's .env must not fill the gap (empty = missing)
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("value", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_each_required_variable_is_enforced(monkeypatch, name, value):
    for key, val in PRODUCTION_ENV.items():
        monkeypatch.setenv(key, val)
    if value is None:
        monkeypatch.delenv(name)
        if _dot_env_defines(name):
            pytest.skip(f".env defines {name}")
    else:
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, "config.settings.production", raising=False)
    try:
        with pytest.raises(ImproperlyConfigured, match=name):
            importlib.import_module("config.settings.production")
    finally:
        sys.modules.pop("config.settings.production", None)


def test_values_come_from_the_environment_not_from_defaults(production_settings_module):
    prod = production_settings_module
    assert prod.DEBUG is False
    assert PRODUCTION_ENV["SECRET_KEY"] == prod.SECRET_KEY
    assert PRODUCTION_ENV["ID_ENCRYPTION_KEYS"] == prod.ID_ENCRYPTION_KEYS
    assert prod.DATABASES["default"]["HOST"] == "db.invalid"
    assert prod.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert prod.DATABASES["default"]["OPTIONS"]["connect_timeout"] == 5
    assert prod.CACHES["default"]["LOCATION"] == PRODUCTION_ENV["REDIS_URL"]
    assert PRODUCTION_ENV["REDIS_URL"] == prod.CELERY_BROKER_URL
    assert prod.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"


def test_allowed_hosts_is_a_trimmed_list(monkeypatch, production_settings_module):
    monkeypatch.setenv("ALLOWED_HOSTS", " linli.example.org, .linli.example.net ,")
    monkeypatch.delitem(sys.modules, "config.settings.production")
    prod = importlib.import_module("config.settings.production")
    assert prod.ALLOWED_HOSTS == ["linli.example.org", ".linli.example.net"]


def test_https_and_cookies_are_locked_down(production_settings_module):
    prod = production_settings_module
    assert prod.SECURE_SSL_REDIRECT is True
    assert prod.SECURE_HSTS_SECONDS >= 60 * 60 * 24 * 365
    assert prod.SESSION_COOKIE_SECURE and prod.CSRF_COOKIE_SECURE
    assert prod.LINLI_STAFF_2FA_REQUIRED is True
    assert prod.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")


def test_static_files_are_served_by_whitenoise_from_the_manifest(production_settings_module):
    prod = production_settings_module
    assert (
        prod.STORAGES["staticfiles"]["BACKEND"]
        == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    middleware = prod.MIDDLEWARE
    assert middleware[0] == "core.health.ProbeMiddleware"
    security = middleware.index("django.middleware.security.SecurityMiddleware")
    assert middleware[security + 1] == "whitenoise.middleware.WhiteNoiseMiddleware"


def test_collectstatic_builds_the_manifest_with_production_storage(tmp_path):
    """What the Docker build runs: hashed, compressed files and a manifest."""
    static_root = tmp_path / "static"
    (tmp_path / "ci_settings.py").write_text(
        textwrap.dedent(
            f"""
            from config.settings.production import *  # noqa: F403
            STATIC_ROOT = {str(static_root)!r}
            """
        )
    )
    env = _clean_env(
        **PRODUCTION_ENV,
        DJANGO_SETTINGS_MODULE="ci_settings",
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(settings.BASE_DIR)]),
    )
    result = _manage("collectstatic", "--noinput", "-v", "0", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (static_root / "staticfiles.json").exists()
    assert list((static_root / "admin" / "css").glob("base.*.css.gz"))
