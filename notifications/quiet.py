"""Quiet hours for SMS (``LINLI_SMS_QUIET_HOURS``, default "21:00-08:00", local time in
``LINLI_SMS_QUIET_TIMEZONE``, default Asia/Shanghai): a message is held until they end."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings


def _parse(value: str) -> tuple[dt.time, dt.time] | None:
    value = (value or "").strip()
    if not value:
        return None
    start, _, end = value.partition("-")
    return dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())


def quiet_until(now: dt.datetime) -> dt.datetime | None:
    """When the quiet hours around ``now`` end, or None when ``now`` is not quiet."""
    hours = _parse(getattr(settings, "LINLI_SMS_QUIET_HOURS", "21:00-08:00"))
    if hours is None:
        return None
    start, end = hours
    zone = ZoneInfo(getattr(settings, "LINLI_SMS_QUIET_TIMEZONE", "Asia/Shanghai"))
    local = now.astimezone(zone)
    clock = local.time()
    # a range like 21:00-08:00 runs across midnight
    quiet = start <= clock < end if start <= end else clock >= start or clock < end
    if not quiet:
        return None
    day = local.date() if clock < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=zone)
