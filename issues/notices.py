"""What issue reporting registers with the platform (called from ``IssuesConfig.ready``):
its notification kinds, its webhook events. The periodic jobs (escalation every 5
minutes, auto-close hourly) are Celery beat entries (``config/settings/base.py``) running
the tasks of ``issues.tasks``.

Kinds (message templates under ``issues/templates/notifications/<kind>/``):

* ``issue.new`` – a new report, to its handlers (inbox + SMS; not optional: handling
  reports is the job, 件件有答复).
* ``issue.update`` – a public step of a report, to its followers (inbox; optional).
* ``issue.escalated`` – a report past its deadline moved up a level, to the new handlers
  and the committee (inbox + SMS; not optional).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .services.timeline import (
    EVENT_CREATED,
    EVENT_RESOLVED,
    EVENT_UPDATED,
    KIND_ESCALATED,
    KIND_NEW,
    KIND_UPDATE,
)

ESCALATE_TASK = "issues.escalate_due"
AUTO_CLOSE_TASK = "issues.auto_close_due"


def register() -> None:
    from notifications.kinds import INBOX, SMS, Kind, register_kind
    from webhooks.events import register_event

    register_kind(
        Kind(KIND_NEW, _("New reports to handle"), default_channels=(INBOX, SMS), optional=False)
    )
    register_kind(Kind(KIND_UPDATE, _("Updates on reports you follow"), default_channels=(INBOX,)))
    register_kind(
        Kind(
            KIND_ESCALATED,
            _("Reports escalated past their deadline"),
            default_channels=(INBOX, SMS),
            optional=False,
        )
    )
    register_event(EVENT_CREATED, _("report created"))
    register_event(EVENT_UPDATED, _("report updated"))
    register_event(EVENT_RESOLVED, _("report resolved"))

    import datetime

    from notifications.schedule import register_daily_job

    from .services.photos import PURGE_JOB, purge_pending_photos_job

    # photos a report form kept across an error, never sent again (issues.forms.report)
    register_daily_job(PURGE_JOB, purge_pending_photos_job, at=datetime.time(3, 40))
