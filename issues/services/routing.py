"""Routing a report to its handler (谁来办) and the deadlines it is held to.

The category's ``handler_kind`` picks the level: ``property`` → the estate's property
company (a report with no estate, or an estate without a company, goes to the
committee); ``committee`` → the neighbourhood committee; ``department`` → the
subdistrict's department whose code is the category's ``department_code`` (none: the
department level with no department, i.e. every department-role staff member of the
subdistrict). Escalation (约请制) climbs the same ladder: property → committee →
department.

Deadlines (``due_at``, the current holder's): acknowledge by ``created + acknowledge
hours``; after acknowledgement, commit a date within ``acknowledge hours``; after a
commitment, the end of the committed day (local time); none once resolved.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from ..models import Category, Department, HandlerLevel, Issue


def department_for(*, category: Category, subdistrict_id: int | None) -> Department | None:
    if not category.department_code or subdistrict_id is None:
        return None
    return Department.objects.filter(
        subdistrict_id=subdistrict_id, code=category.department_code
    ).first()


def assign_level(issue: Issue, level: str) -> None:
    """Put ``issue`` at ``level`` (property falls back to committee without a company)."""
    if level == HandlerLevel.PROPERTY:
        company_id = issue.estate.property_company_id if issue.estate_id else None
        if company_id is None:
            level = HandlerLevel.COMMITTEE
        else:
            issue.property_company_id = company_id
    if level == HandlerLevel.DEPARTMENT:
        issue.department = department_for(
            category=issue.category, subdistrict_id=issue.subdistrict_id
        )
    issue.handler_level = level


def route(issue: Issue, *, now: datetime.datetime) -> None:
    """Set the handler and the dues of a new report (place ids already set)."""
    category = issue.category
    assign_level(issue, category.handler_kind)
    issue.acknowledge_due = now + datetime.timedelta(hours=category.acknowledge_hours)
    issue.resolve_due = now + datetime.timedelta(hours=category.resolve_hours)
    issue.due_at = issue.acknowledge_due


def commit_window(issue: Issue, now: datetime.datetime) -> datetime.datetime:
    """The deadline to commit a date (after acknowledgement or a reopen)."""
    return now + datetime.timedelta(hours=issue.category.acknowledge_hours)


def end_of_day(day: datetime.date) -> datetime.datetime:
    """The next local midnight after ``day``: a committed date is kept all day long."""
    tz = timezone.get_current_timezone()
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0), tz)


def handler_recipients(issue: Issue) -> list:
    """The people who hold ``issue`` now: the property staff of its estate, the
    committee (cadres, secretaries, grid workers of its places), or the department's
    staff (without a department: the department-role staff of the subdistrict)."""
    level = issue.handler_level
    if level == HandlerLevel.PROPERTY:
        return property_staff(issue)
    if level == HandlerLevel.COMMITTEE:
        return committee_members(issue)
    if issue.department_id:
        return list(issue.department.staff.filter(is_active=True).order_by("pk"))
    return _holders(issue, department=True)


def property_staff(issue: Issue) -> list:
    from accounts.models import Role
    from buildings.models import Estate

    if not issue.estate_id:
        return []
    return _users([(Role.PROPERTY_STAFF, Estate, [issue.estate_id])])


def committee_members(issue: Issue) -> list:
    return _holders(issue, department=False)


def _holders(issue: Issue, *, department: bool) -> list:
    from accounts.models import Role
    from buildings.models import Area, Building, Estate, Neighbourhood, Subdistrict

    if department:
        return _users([(Role.DEPARTMENT, Subdistrict, [issue.subdistrict_id])])
    grants = [
        (Role.CADRE, Neighbourhood, [issue.neighbourhood_id]),
        (Role.SECRETARY, Neighbourhood, [issue.neighbourhood_id]),
        (Role.GRID_WORKER, Neighbourhood, [issue.neighbourhood_id]),
    ]
    area_id = issue.neighbourhood.area_id
    if area_id:
        grants += [(Role.CADRE, Area, [area_id]), (Role.SECRETARY, Area, [area_id])]
    if issue.estate_id:
        grants.append((Role.GRID_WORKER, Estate, [issue.estate_id]))
    if issue.building_id:
        grants.append((Role.GRID_WORKER, Building, [issue.building_id]))
    return _users(grants)


def _users(grants) -> list:
    from buildings.selectors import role_holders

    users = {}
    for assignment in role_holders(grants=grants):
        users.setdefault(assignment.user_id, assignment.user)
    return list(users.values())
