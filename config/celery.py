"""The Celery app. Tasks take ids, never model instances; the beat schedule
lives in settings (CELERY_BEAT_SCHEDULE) so it is reviewed like code."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("linli")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
