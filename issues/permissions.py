"""Who may do what with a report.

Handlers hold ``buildings.handle_issues`` on a place (property staff on an estate, the
committee on a neighbourhood, department staff on the subdistrict); a handler may move a
report whose place their scope covers. Residents report, upvote (我也遇到) and follow
reports of their own neighbourhood, once their account is real-name verified.
"""

from __future__ import annotations

from buildings.permissions import HANDLE_ISSUES
from core.scoping import scope_for


def may_handle(user, issue) -> bool:
    """Whether ``user``'s handler scope covers ``issue``'s place."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    scope = scope_for(user, HANDLE_ISSUES)
    return scope.covers(
        neighbourhood_id=issue.neighbourhood_id,
        estate_id=issue.estate_id,
        building_id=issue.building_id,
    )


def resident_place(user) -> tuple[int, str] | None:
    """(neighbourhood id, neighbourhood name) of a verified user's registry record, or
    None; one small query, cached on the user for the request."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not getattr(user, "verified", False):
        return None
    cache = user.__dict__
    if "_linli_issue_place" not in cache:
        from residents.models import Resident

        cache["_linli_issue_place"] = (
            Resident.objects.filter(user=user, anonymised_at__isnull=True)
            .values_list("neighbourhood_id", "neighbourhood__name")
            .first()
        )
    return cache["_linli_issue_place"]


def resident_neighbourhood_id(user) -> int | None:
    """The neighbourhood of a verified user's registry record (cached on the user)."""
    place = resident_place(user)
    return place[0] if place else None


def may_report(user, neighbourhood_id: int | None = None) -> bool:
    """Whether ``user`` may report on the web: a verified resident (of
    ``neighbourhood_id`` when given)."""
    own = resident_neighbourhood_id(user)
    if own is None:
        return False
    return neighbourhood_id is None or own == neighbourhood_id


def may_upvote(user, issue) -> bool:
    """Whether ``user`` may upvote or follow ``issue``: a verified resident of its
    neighbourhood."""
    return may_report(user, issue.neighbourhood_id)
