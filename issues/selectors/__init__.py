"""Reads of issue reporting. The board's reads are in ``issues.selectors.board``."""

from .reports import (
    DEFAULT_SORT,
    LIST_RELATED,
    SORTS,
    access_issue,
    access_public_issue,
    categories_active,
    inbox_for,
    issue_filters,
    issue_order,
    issues_reported_by,
    issues_visible_to,
    public_issues_for,
    resident_neighbourhood_id,
    similar_open_issues,
)
from .timeline import timeline_for

__all__ = [
    "DEFAULT_SORT",
    "LIST_RELATED",
    "SORTS",
    "access_issue",
    "access_public_issue",
    "categories_active",
    "inbox_for",
    "issue_filters",
    "issue_order",
    "issues_reported_by",
    "issues_visible_to",
    "public_issues_for",
    "resident_neighbourhood_id",
    "similar_open_issues",
    "timeline_for",
]
