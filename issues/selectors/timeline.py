"""A report's timeline (its steps) as the detail and handling pages show it."""

from __future__ import annotations

from django.db.models import Prefetch

from ..models import IssueEvent, IssuePhoto


def timeline_for(*, issue, staff: bool) -> list[IssueEvent]:
    """The steps of ``issue`` oldest first, actor joined and photos prefetched (two
    queries); internal notes only when ``staff``."""
    events = IssueEvent.objects.filter(issue=issue)
    if not staff:
        events = events.filter(public=True)
    return list(
        events.select_related("actor")
        .prefetch_related(Prefetch("photos", queryset=IssuePhoto.objects.order_by("id")))
        .order_by("created_at", "id")
    )
