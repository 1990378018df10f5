"""core.tasks.heartbeat: beat + worker liveness recorded in the cache."""

import datetime

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.tasks import HEARTBEAT_CACHE_KEY, heartbeat, last_heartbeat


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.delete(HEARTBEAT_CACHE_KEY)
    yield
    cache.delete(HEARTBEAT_CACHE_KEY)


def test_no_heartbeat_yet():
    assert last_heartbeat() is None


def test_heartbeat_stores_the_current_time_under_the_documented_key():
    before = timezone.now()
    heartbeat.delay()  # eager in tests: runs like a worker would
    after = timezone.now()
    stored = cache.get(HEARTBEAT_CACHE_KEY)
    assert isinstance(stored, str)
    beat = last_heartbeat()
    assert beat is not None and beat.tzinfo is not None
    assert before <= beat <= after


def test_a_later_heartbeat_replaces_the_earlier_one():
    cache.set(HEARTBEAT_CACHE_KEY, "2020-01-01T00:00:00+00:00")
    assert last_heartbeat() == datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    heartbeat()
    assert last_heartbeat() > timezone.now() - datetime.timedelta(minutes=1)


def test_unreadable_value_reads_as_none():
    cache.set(HEARTBEAT_CACHE_KEY, "not a time")
    assert last_heartbeat() is None


def test_beat_schedules_the_registered_task():
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["heartbeat"]
    assert entry["task"] == heartbeat.name == "core.tasks.heartbeat"
    assert entry["task"] in app.tasks
