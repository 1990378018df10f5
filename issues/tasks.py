"""Celery tasks of issue reporting (autodiscovered): thin wrappers around the periodic
services, scheduled by beat (``CELERY_BEAT_SCHEDULE``). Both are idempotent: a retried or
doubled tick changes nothing more."""

from celery import shared_task

from .notices import AUTO_CLOSE_TASK, ESCALATE_TASK


@shared_task(name=ESCALATE_TASK, ignore_result=True)
def escalate_due() -> int:
    """Escalate the reports past their deadline one level (约请制)."""
    from .services import issues_escalate_due

    return issues_escalate_due()


@shared_task(name=AUTO_CLOSE_TASK, ignore_result=True)
def auto_close_due() -> int:
    """Close the reports resolved LINLI_ISSUE_AUTO_CLOSE_DAYS ago and not confirmed."""
    from .services import issues_auto_close_due

    return issues_auto_close_due()
