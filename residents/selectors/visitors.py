"""Reads of 外来人员信息申报 (visitor declarations), scoped to the user who asks.

* :func:`visitor_declarations_visible_to`: the cadre's list, filtered by status,
  by when the stay is (:data:`CURRENT`, :data:`UPCOMING`, :data:`PAST`, :data:`ANY`)
  and by estate; :func:`access_visitor_declaration` fetches one (404 outside the scope).
* :func:`visitor_declarations_by`: what a resident declared themselves.
* :func:`purge_days`: how long after a stay its personal fields are kept.

The writes (declaring, reviewing, purging) and the household's visitor link are in
``residents.services.visitors``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone

from buildings.permissions import MANAGE
from core.scoping import scope_for

from ..models import VisitorDeclaration

DEFAULT_PURGE_DAYS = 30

# When a stay is, for the cadre's list filter.
CURRENT, UPCOMING, PAST, ANY = "current", "upcoming", "past", "all"


def purge_days() -> int:
    """Days after a stay ends before its personal fields are blanked (a setting)."""
    return int(getattr(settings, "LINLI_VISITOR_PURGE_DAYS", DEFAULT_PURGE_DAYS))


def visitor_declarations_visible_to(
    *,
    user,
    status: str | None = None,
    when: str = ANY,
    estate_id: int | None = None,
    today: datetime.date | None = None,
):
    """Declarations in the user's scope, newest first, with what the list shows joined."""
    today = today or timezone.localdate()
    queryset = scope_for(user, MANAGE).filter(
        VisitorDeclaration.objects.select_related(
            "dwelling", "building", "estate", "declared_by", "reviewed_by"
        )
    )
    if status in VisitorDeclaration.Status.values:
        queryset = queryset.filter(status=status)
    if when == CURRENT:
        queryset = queryset.filter(arrives_on__lte=today, leaves_on__gte=today)
    elif when == UPCOMING:
        queryset = queryset.filter(arrives_on__gt=today)
    elif when == PAST:
        queryset = queryset.filter(leaves_on__lt=today)
    if estate_id:
        queryset = queryset.filter(estate_id=estate_id)
    return queryset.order_by("-created_at", "-id")


def access_visitor_declaration(*, user, pk) -> VisitorDeclaration:
    """The declaration if in the user's scope; 404 for missing and forbidden alike."""
    return get_object_or_404(visitor_declarations_visible_to(user=user), pk=pk)


def visitor_declarations_by(*, user):
    """What a resident declared themselves, newest first (the household's dwelling joined)."""
    return (
        VisitorDeclaration.objects.filter(declared_by=user)
        .select_related("dwelling", "building", "estate")
        .order_by("-created_at", "-id")
    )
