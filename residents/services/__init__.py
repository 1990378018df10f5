"""Writes about people that carry a rule, one module per concern.

Import from here: ``from residents.services import resident_create``.
"""

from .registry import (
    household_create,
    household_move,
    household_set_head,
    household_update,
    resident_add_tags,
    resident_anonymise,
    resident_create,
    resident_mark_moved_out,
    resident_move,
    resident_reveal_identity,
    resident_update,
)
from .reports import (
    ensure_example_reports,
    saved_report_create,
    saved_report_delete,
    saved_report_rename,
    saved_report_run,
)
from .verification import (
    household_code_issue,
    household_code_revoke,
    verification_attempt,
    verification_revoke,
)
from .visitors import (
    visitor_declaration_review,
    visitor_declarations_purge,
    visitor_declare,
    visitor_link_rotate,
)
from .wellbeing import access_events_record, raise_wellbeing_alerts, wellbeing_alert_handle

__all__ = [
    "household_code_issue",
    "household_code_revoke",
    "verification_attempt",
    "verification_revoke",
    "visitor_declaration_review",
    "visitor_declarations_purge",
    "visitor_declare",
    "visitor_link_rotate",
    "access_events_record",
    "ensure_example_reports",
    "raise_wellbeing_alerts",
    "saved_report_create",
    "saved_report_delete",
    "saved_report_rename",
    "saved_report_run",
    "wellbeing_alert_handle",
    "household_create",
    "household_move",
    "household_set_head",
    "household_update",
    "resident_add_tags",
    "resident_anonymise",
    "resident_create",
    "resident_mark_moved_out",
    "resident_move",
    "resident_reveal_identity",
    "resident_update",
]
