"""Every read of the registry, already scoped to the user who asks, one module per concern:
``registry`` (residents, households), ``reports`` (智慧报表), ``visitors`` (外来人员信息申报),
``wellbeing`` (door-access alerts), ``me`` (a resident's own data).

Import from here: ``from residents.selectors import residents_visible_to``.
"""

from .registry import (
    access_household,
    access_resident,
    current_member_count,
    households_visible_to,
    residents_visible_to,
)
from .reports import (
    access_saved_report,
    apply_conditions,
    birth_date_bounds,
    clean_conditions,
    describe_conditions,
    report_neighbourhood_choices,
    report_residents,
    report_scope,
    saved_reports_visible_to,
)
from .visitors import (
    access_visitor_declaration,
    visitor_declarations_by,
    visitor_declarations_visible_to,
)
from .wellbeing import access_alert, alerts_visible_to, residents_in_gap

__all__ = [
    "access_alert",
    "access_household",
    "access_resident",
    "access_saved_report",
    "access_visitor_declaration",
    "alerts_visible_to",
    "apply_conditions",
    "birth_date_bounds",
    "clean_conditions",
    "current_member_count",
    "describe_conditions",
    "households_visible_to",
    "report_neighbourhood_choices",
    "report_residents",
    "report_scope",
    "residents_in_gap",
    "residents_visible_to",
    "saved_reports_visible_to",
    "visitor_declarations_by",
    "visitor_declarations_visible_to",
]
