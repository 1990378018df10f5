"""智慧报表 (smart reports), the reads: conditions a cadre ticks, turned into one scoped query.

A report's conditions are a small JSON object (stored in ``SavedReport.conditions``)::

    {
        "age_min": 90,               # age ≥ (whole years), 0-130
        "age_max": 99,               # age ≤
        "tags": ["party-member"],    # care tag codes
        "tags_mode": "any",          # "any" (at least one) or "all"
        "residence_status": ["registered", "permanent"],
        "neighbourhoods": [3],       # place ids; they only ever narrow the viewer's scope
        "estates": [12],
        "buildings": [40, 41],
        "gender": "F",
        "lives_alone": true,
        "moved_out": "current"       # "current" (default), "moved_out" or "all"
    }

:func:`clean_conditions` checks that shape strictly (unknown keys, wrong types
and out-of-range values are refused), so a saved report edited by hand in the
database can only ask for what the form can ask for. Whatever the conditions,
:func:`report_residents` starts from the viewer's scope (and the saved report's
neighbourhood), so place ids outside the scope simply match nobody: a report
never widens what anyone may see.

Ages are turned into birth-date bounds (``age ≥ 90`` ⇔ ``birth_date ≤ today − 90
years``), which the ``(neighbourhood, birth_date)`` index answers; care tags are
``EXISTS`` subqueries on the tag link table, one per tag for "all".

The tick-box form is ``residents.forms.reports``; saving, renaming, running and
exporting saved reports are ``residents.services.reports``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from buildings.models import Building, Estate, Neighbourhood, add_years
from buildings.permissions import MANAGE
from core.scoping import Scope, scope_for

from ..models import CareTag, Gender, ResidenceStatus, Resident, SavedReport

AGE_LIMIT = 130
MAX_IDS = 1000  # place ids in one condition
MAX_TAGS = 50

TAGS_ANY, TAGS_ALL = "any", "all"
CURRENT, MOVED_OUT, ALL = "current", "moved_out", "all"

# key -> kind; the order is the order of the form and of descriptions
CONDITION_KINDS: dict[str, str] = {
    "age_min": "age",
    "age_max": "age",
    "tags": "codes",
    "tags_mode": "tags_mode",
    "residence_status": "statuses",
    "neighbourhoods": "ids",
    "estates": "ids",
    "buildings": "ids",
    "gender": "gender",
    "lives_alone": "bool",
    "moved_out": "moved_out",
}
DEFAULT_CONDITIONS = {"moved_out": CURRENT}

# The order of the list and the export: by place, then by id.
RESULT_ORDER = ("neighbourhood_id", "estate_id", "building_id", "dwelling_id", "id")


# --- validation --------------------------------------------------------------------------


def _clean_one(key: str, kind: str, value):
    """The normalised value, None to drop the condition, or ValidationError."""
    if kind == "age":
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(_("An age is a whole number of years."))
        if not 0 <= value <= AGE_LIMIT:
            raise ValidationError(
                _("An age is between 0 and %(limit)s years.") % {"limit": AGE_LIMIT}
            )
        return value
    if kind in ("codes", "statuses", "ids"):
        if value is None:
            return None
        if not isinstance(value, list):
            raise ValidationError(_("Expected a list."))
        if kind == "ids":
            if len(value) > MAX_IDS or not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
            ):
                raise ValidationError(_("Expected a list of place ids."))
            return sorted(set(value)) or None
        if not all(isinstance(v, str) for v in value):
            raise ValidationError(_("Expected a list of codes."))
        if kind == "statuses":
            unknown = sorted(set(value) - set(ResidenceStatus.values))
            if unknown:
                raise ValidationError(
                    _("Unknown residence status: %(values)s.") % {"values": ", ".join(unknown)}
                )
        elif len(value) > MAX_TAGS or not all(0 < len(v) <= 30 for v in value):
            raise ValidationError(_("Expected a list of care tag codes."))
        return sorted(set(value)) or None
    if kind == "tags_mode":
        if value not in (TAGS_ANY, TAGS_ALL):
            raise ValidationError(_("Choose “any” or “all”."))
        return value
    if kind == "gender":
        if value in (None, ""):
            return None
        if value not in Gender.values:
            raise ValidationError(_("Unknown gender."))
        return value
    if kind == "bool":
        if value is None:
            return None
        if not isinstance(value, bool):
            raise ValidationError(_("Expected true or false."))
        return value
    if kind == "moved_out":
        if value not in (CURRENT, MOVED_OUT, ALL):
            raise ValidationError(_("Choose current residents, moved out, or everyone."))
        return value
    raise AssertionError(kind)  # pragma: no cover


def clean_conditions(raw) -> dict:
    """Validate and normalise a conditions object; ValidationError (per key) otherwise.

    The result has only the conditions that narrow the query, plus ``moved_out``
    (default "current") and ``tags_mode`` when tags are given.
    """
    if not isinstance(raw, Mapping):
        raise ValidationError(_("The report's conditions must be an object."), code="invalid")
    errors: dict[str, list[str]] = {}
    for key in raw:
        if key not in CONDITION_KINDS:
            errors.setdefault(str(key)[:50], []).append(
                _("Unknown condition “%(key)s”.") % {"key": str(key)[:50]}
            )
    clean: dict = {}
    for key, kind in CONDITION_KINDS.items():
        if key not in raw:
            continue
        try:
            value = _clean_one(key, kind, raw[key])
        except ValidationError as exc:
            errors.setdefault(key, []).extend(exc.messages)
            continue
        if value is not None:
            clean[key] = value
    if errors:
        raise ValidationError(errors, code="invalid")
    if "age_min" in clean and "age_max" in clean and clean["age_min"] > clean["age_max"]:
        raise ValidationError(
            {"age_max": [_("The upper age cannot be below the lower age.")]}, code="invalid"
        )
    clean.setdefault("moved_out", CURRENT)
    if clean.get("tags"):
        clean.setdefault("tags_mode", TAGS_ANY)
    else:
        clean.pop("tags_mode", None)
    return clean


# --- the query ---------------------------------------------------------------------------


def birth_date_bounds(
    *, age_min: int | None, age_max: int | None, today: datetime.date
) -> tuple[datetime.date | None, datetime.date | None]:
    """(born on or before, born after) for ages in whole years on ``today``.

    age ≥ N ⇔ born on or before today − N years;
    age ≤ M ⇔ age < M + 1 ⇔ born after today − (M + 1) years.
    """
    latest = add_years(today, -age_min) if age_min is not None else None
    earliest_excluded = add_years(today, -(age_max + 1)) if age_max is not None else None
    return latest, earliest_excluded


def apply_conditions(
    queryset: QuerySet, conditions: dict, *, today: datetime.date | None = None
) -> QuerySet:
    """Narrow a Resident queryset by *cleaned* conditions (see :func:`clean_conditions`)."""
    today = today or timezone.localdate()
    q = Q()
    latest, excluded = birth_date_bounds(
        age_min=conditions.get("age_min"), age_max=conditions.get("age_max"), today=today
    )
    if latest is not None:
        q &= Q(birth_date__lte=latest)
    if excluded is not None:
        q &= Q(birth_date__gt=excluded)
    if conditions.get("residence_status"):
        q &= Q(residence_status__in=conditions["residence_status"])
    for key, field in (
        ("neighbourhoods", "neighbourhood_id"),
        ("estates", "estate_id"),
        ("buildings", "building_id"),
    ):
        if conditions.get(key):
            q &= Q(**{f"{field}__in": conditions[key]})
    if conditions.get("gender"):
        q &= Q(gender=conditions["gender"])
    if conditions.get("lives_alone") is not None:
        q &= Q(lives_alone=conditions["lives_alone"])
    moved_out = conditions.get("moved_out", CURRENT)
    if moved_out == CURRENT:
        q &= Q(moved_out__isnull=True, anonymised_at__isnull=True)
    elif moved_out == MOVED_OUT:
        q &= Q(moved_out__isnull=False)
    queryset = queryset.filter(q)
    codes = conditions.get("tags") or []
    if codes:
        tag_ids = list(CareTag.objects.filter(code__in=codes).values_list("pk", flat=True))
        links = Resident.care_tags.through.objects
        if conditions.get("tags_mode") == TAGS_ALL:
            if len(tag_ids) < len(codes):  # a tag that no longer exists: nobody has it
                return queryset.none()
            for tag_id in tag_ids:
                queryset = queryset.filter(
                    Exists(links.filter(resident_id=OuterRef("pk"), caretag_id=tag_id))
                )
        else:
            if not tag_ids:
                return queryset.none()
            queryset = queryset.filter(
                Exists(links.filter(resident_id=OuterRef("pk"), caretag_id__in=tag_ids))
            )
    return queryset


def report_scope(user) -> Scope:
    """The places whose residents a user's reports cover (the cadre's scope)."""
    return scope_for(user, MANAGE)


def report_neighbourhood_choices(*, user) -> list[tuple[int, str]]:
    """(id, name) of the neighbourhoods a user may save a report for, by name."""
    return list(
        report_scope(user)
        .filter(Neighbourhood.objects.all())
        .order_by("name")
        .values_list("pk", "name")
    )


def report_residents(
    *,
    user,
    conditions: dict,
    neighbourhood_id: int | None = None,
    today: datetime.date | None = None,
    for_list: bool = True,
) -> QuerySet:
    """Residents matching cleaned ``conditions`` within the user's scope.

    ``neighbourhood_id`` (a saved report's neighbourhood) narrows further. With
    ``for_list`` the rows come with what the list and the export show, joined or
    prefetched, so that a page costs the same number of queries whatever its size.
    """
    queryset = report_scope(user).filter(Resident.objects.all())
    if neighbourhood_id is not None:
        queryset = queryset.filter(neighbourhood_id=neighbourhood_id)
    queryset = apply_conditions(queryset, conditions, today=today)
    if for_list:
        queryset = queryset.select_related("estate", "building", "dwelling").prefetch_related(
            "care_tags"
        )
    return queryset.order_by(*RESULT_ORDER)


# --- saved reports (reads) -----------------------------------------------------------------


def saved_reports_visible_to(*, user) -> QuerySet:
    return report_scope(user).filter(
        SavedReport.objects.select_related("neighbourhood", "created_by")
    )


def access_saved_report(*, user, pk) -> SavedReport:
    """The saved report if it belongs to a neighbourhood in the user's scope; 404 otherwise."""
    return get_object_or_404(saved_reports_visible_to(user=user), pk=pk)


# --- describing conditions ------------------------------------------------------------


def describe_conditions(conditions: dict, *, user) -> list[str]:
    """Readable lines for cleaned conditions: "Age at least 90", "Care tags (any): 独居老人" …

    Place names are looked up within the user's scope (ids outside it are only counted).
    """
    lines = []
    age_min, age_max = conditions.get("age_min"), conditions.get("age_max")
    if age_min is not None and age_max is not None:
        lines.append(_("Aged %(low)s to %(high)s") % {"low": age_min, "high": age_max})
    elif age_min is not None:
        lines.append(_("Aged %(age)s or more") % {"age": age_min})
    elif age_max is not None:
        lines.append(_("Aged %(age)s or less") % {"age": age_max})
    if conditions.get("tags"):
        names = dict(
            CareTag.objects.filter(code__in=conditions["tags"]).values_list("code", "name")
        )
        label = (
            _("Care tags (all): %(tags)s")
            if conditions.get("tags_mode") == TAGS_ALL
            else _("Care tags (any): %(tags)s")
        )
        lines.append(label % {"tags": "、".join(names.get(c, c) for c in conditions["tags"])})
    if conditions.get("residence_status"):
        labels = dict(ResidenceStatus.choices)
        lines.append(
            _("Residence status: %(values)s")
            % {"values": "、".join(str(labels[v]) for v in conditions["residence_status"])}
        )
    scope = report_scope(user)
    for key, model, label, name_of in (
        ("neighbourhoods", Neighbourhood, _("Neighbourhoods: %(places)s"), lambda o: o.name),
        ("estates", Estate, _("Estates: %(places)s"), lambda o: o.name),
        ("buildings", Building, _("Buildings: %(places)s"), str),
    ):
        ids = conditions.get(key)
        if not ids:
            continue
        queryset = scope.filter(model.objects.filter(pk__in=ids))
        if model is Building:
            queryset = queryset.select_related("estate")
        names = [name_of(place) for place in queryset]
        hidden = len(ids) - len(names)
        if hidden:
            names.append(_("%(count)s not in your places") % {"count": hidden})
        lines.append(label % {"places": "、".join(names)})
    if conditions.get("gender"):
        lines.append(_("Gender: %(gender)s") % {"gender": Gender(conditions["gender"]).label})
    if conditions.get("lives_alone") is True:
        lines.append(_("Lives alone"))
    elif conditions.get("lives_alone") is False:
        lines.append(_("Does not live alone"))
    moved_out = conditions.get("moved_out", CURRENT)
    lines.append(
        {
            CURRENT: _("Current residents only"),
            MOVED_OUT: _("Moved out only"),
            ALL: _("Current and moved out"),
        }[moved_out]
    )
    return lines
