"""Celery tasks of accounts (Celery autodiscovers this module)."""

from celery import shared_task

PURGE_SMS_CODES_TASK = "accounts.purge_sms_codes"


@shared_task(name=PURGE_SMS_CODES_TASK, ignore_result=True)
def purge_sms_codes() -> int:
    """Delete SMS codes older than a day (the limits look back one hour); scheduled daily
    by beat (``CELERY_BEAT_SCHEDULE["sms-code-purge"]``). Returns how many were deleted."""
    from .sms_codes import purge_codes

    return purge_codes()
