"""Every write of issue reporting (one transaction each; side effects on commit)."""

from .escalation import issues_auto_close_due, issues_escalate_due
from .reporting import clean_attributes, issue_create, photo_add
from .routing import handler_recipients
from .votes import issue_follow_toggle, issue_upvote_toggle
from .workflow import (
    issue_acknowledge,
    issue_bulk_acknowledge,
    issue_comment,
    issue_commit,
    issue_confirm,
    issue_merge,
    issue_progress,
    issue_reject,
    issue_reopen,
    issue_resolve,
)

__all__ = [
    "clean_attributes",
    "handler_recipients",
    "issue_acknowledge",
    "issue_bulk_acknowledge",
    "issue_comment",
    "issue_commit",
    "issue_confirm",
    "issue_create",
    "issue_follow_toggle",
    "issue_merge",
    "issue_progress",
    "issue_reject",
    "issue_reopen",
    "issue_resolve",
    "issue_upvote_toggle",
    "issues_auto_close_due",
    "issues_escalate_due",
    "photo_add",
]
