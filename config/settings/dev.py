"""`make run`: SQLite, filesystem broker, console e-mail; no server needed."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
VAR_DIR.mkdir(exist_ok=True)
(VAR_DIR / "celery" / "queue").mkdir(parents=True, exist_ok=True)
(VAR_DIR / "celery" / "processed").mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The demo shows its SMS in the console at once, whatever the hour: no quiet hours unless
# set (production keeps 21:00-08:00).
LINLI_SMS_QUIET_HOURS = env("LINLI_SMS_QUIET_HOURS", default="")
