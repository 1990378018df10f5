"""Reads over the place tree, already scoped to the user who asks."""

from __future__ import annotations

import datetime
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from core.scoping import scope_for

from .models import Elevator
from .permissions import MANAGE


def access_place(*, user, model, pk, perm):
    """Fetch a place-bound row the user may see for ``perm``, or raise Http404.

    A missing row and a row outside the user's scope raise the same 404, so the
    answer never tells whether the id exists.
    """
    queryset = scope_for(user, perm).filter(model._default_manager.all())
    try:
        return queryset.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404(_("No %(name)s found here.") % {"name": model._meta.verbose_name}) from None


# --- elevator inspections (电梯年检) ---------------------------------------------

OVERDUE = "overdue"


def inspection_due_q(
    *, within_days: int | None = None, overdue: bool = False, today: datetime.date | None = None
) -> Q:
    """Elevators by next inspection date, relative to ``today`` (local date by default).

    ``overdue=True``: the due date has passed. ``within_days=N``: due today or in the
    next N days, not yet overdue. Both: overdue or due within N days.
    """
    today = today or timezone.localdate()
    condition = Q(pk__in=[])
    if overdue:
        condition |= Q(next_inspection_due__lt=today)
    if within_days is not None:
        condition |= Q(
            next_inspection_due__gte=today,
            next_inspection_due__lte=today + datetime.timedelta(days=within_days),
        )
    return condition


def elevators_due(
    *, user, within_days: int, perm: str = MANAGE, today: datetime.date | None = None
) -> QuerySet[Elevator]:
    """The user's elevators whose inspection is overdue or due within ``within_days``.

    Soonest first, with the building and estate loaded (for "某号楼电梯" messages).
    """
    queryset = (
        Elevator.objects.filter(
            inspection_due_q(within_days=within_days, overdue=True, today=today)
        )
        .select_related("building__estate", "neighbourhood")
        .order_by("next_inspection_due", "pk")
    )
    return scope_for(user, perm).filter(queryset)


# --- search by building number (12, 12号楼, １２号, 12幢 …) -----------------------

_BUILDING_NUMBER = re.compile(r"^(\d{1,5})\s*(号楼|号|幢|栋|楼|#)?$")
_NUMBER_SEPARATORS = ("号", "幢", "栋", "楼", "#", "-", " ", "单元")


def building_number_q(term: str, *, field: str = "number", bare_digits: bool = True) -> Q | None:
    """A filter matching building ``term`` exactly, or None if ``term`` is no building number.

    "12", "12号楼", "12号", "12幢", "12栋" (full-width digits too) all find 12号楼 and
    12号楼2单元, but not 112号楼 or 120号楼. With ``bare_digits=False`` a term of
    digits alone is not taken for a building number (it may be a room, 1203).
    """
    normalised = unicodedata.normalize("NFKC", term or "").strip()
    match = _BUILDING_NUMBER.match(normalised)
    if not match or (match.group(2) is None and not bare_digits):
        return None
    number = str(int(match.group(1)))  # "012" -> "12"
    condition = Q(**{f"{field}__iexact": number})
    for separator in _NUMBER_SEPARATORS:
        condition |= Q(**{f"{field}__startswith": f"{number}{separator}"})
    return condition
