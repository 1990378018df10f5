"""智慧报表 (smart reports): conditions a cadre ticks, turned into one scoped query.

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
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from buildings.models import Building, Estate, Neighbourhood, add_years
from buildings.permissions import MANAGE
from core.scoping import Scope, scope_for

from .models import CareTag, Gender, ResidenceStatus, Resident, SavedReport

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

# Rows shown per page, and the order of the list and the export: by place, then by id.
PAGE_SIZE = 50
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
    from django.shortcuts import get_object_or_404

    return get_object_or_404(saved_reports_visible_to(user=user), pk=pk)


# --- the form ----------------------------------------------------------------------------

ESTATE_CHOICES_LIMIT = 300
BUILDING_CHOICES_LIMIT = 500

BOOL_CHOICES = [
    ("", gettext_lazy("either")),
    ("yes", gettext_lazy("yes")),
    ("no", gettext_lazy("no")),
]


def _ids(data, key) -> list[int]:
    if data is None:
        return []
    values = data.getlist(key) if hasattr(data, "getlist") else data.get(key) or []
    out = []
    for value in values:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return out


class ReportConditionsForm(forms.Form):
    """The tick-box form (a GET form: the page's address is the report).

    Place choices come from the user's scope; estates and buildings are offered
    within the neighbourhoods and estates ticked when the scope is large.
    """

    age_min = forms.IntegerField(
        label=gettext_lazy("Age at least"), required=False, min_value=0, max_value=AGE_LIMIT
    )
    age_max = forms.IntegerField(
        label=gettext_lazy("Age at most"), required=False, min_value=0, max_value=AGE_LIMIT
    )
    tags = forms.MultipleChoiceField(
        label=gettext_lazy("Care tags"), required=False, widget=forms.CheckboxSelectMultiple
    )
    tags_mode = forms.ChoiceField(
        label=gettext_lazy("Match"),
        required=False,
        choices=[
            (TAGS_ANY, gettext_lazy("any of the ticked tags")),
            (TAGS_ALL, gettext_lazy("all of the ticked tags")),
        ],
        widget=forms.RadioSelect,
        initial=TAGS_ANY,
    )
    residence_status = forms.MultipleChoiceField(
        label=gettext_lazy("Residence status"),
        required=False,
        choices=ResidenceStatus.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    neighbourhoods = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Neighbourhoods"), required=False, coerce=int
    )
    estates = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Estates"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    buildings = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Buildings"), required=False, coerce=int
    )
    gender = forms.ChoiceField(
        label=gettext_lazy("Gender"),
        required=False,
        choices=[("", gettext_lazy("either")), *Gender.choices],
        widget=forms.RadioSelect,
        initial="",
    )
    lives_alone = forms.ChoiceField(
        label=gettext_lazy("Lives alone"),
        required=False,
        choices=BOOL_CHOICES,
        widget=forms.RadioSelect,
        initial="",
    )
    moved_out = forms.ChoiceField(
        label=gettext_lazy("Who"),
        required=False,
        choices=[
            (CURRENT, gettext_lazy("current residents")),
            (MOVED_OUT, gettext_lazy("moved out")),
            (ALL, gettext_lazy("everyone")),
        ],
        widget=forms.RadioSelect,
        initial=CURRENT,
    )

    def __init__(self, data=None, *, user, **kwargs):
        super().__init__(data, **kwargs)
        self.user = user
        scope = report_scope(user)
        self.fields["tags"].choices = list(
            CareTag.objects.filter(active=True).values_list("code", "name")
        )
        picked_neighbourhoods = _ids(data, "neighbourhoods")
        picked_estates = _ids(data, "estates")

        neighbourhoods = list(
            scope.filter(Neighbourhood.objects.all()).order_by("name").values_list("pk", "name")
        )
        self.fields["neighbourhoods"].choices = neighbourhoods
        self.show_neighbourhoods = len(neighbourhoods) > 1
        if not self.show_neighbourhoods:
            self.fields["neighbourhoods"].widget = forms.MultipleHiddenInput()

        estates = scope.filter(Estate.objects.all())
        if picked_neighbourhoods:
            estates = estates.filter(neighbourhood_id__in=picked_neighbourhoods)
        estates = list(
            estates.order_by("neighbourhood_id", "name").values_list("pk", "name")[
                : ESTATE_CHOICES_LIMIT + 1
            ]
        )
        self.estates_truncated = len(estates) > ESTATE_CHOICES_LIMIT
        self.fields["estates"].choices = [] if self.estates_truncated else estates

        buildings = scope.filter(Building.objects.all())
        if picked_estates:
            buildings = buildings.filter(estate_id__in=picked_estates)
        elif picked_neighbourhoods:
            buildings = buildings.filter(neighbourhood_id__in=picked_neighbourhoods)
        rows = list(
            buildings.order_by("estate__name", "number").values_list(
                "pk", "estate__name", "number"
            )[: BUILDING_CHOICES_LIMIT + 1]
        )
        self.buildings_truncated = len(rows) > BUILDING_CHOICES_LIMIT
        grouped: dict[str, list] = {}
        if not self.buildings_truncated:
            for pk, estate_name, number in rows:
                grouped.setdefault(estate_name, []).append((pk, number))
        self.fields["buildings"].choices = list(grouped.items())
        self.fields["buildings"].widget.attrs["size"] = min(10, max(3, len(rows)))

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.conditions = clean_conditions(form_to_raw(cleaned))
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                self.add_error(key if key in self.fields else None, messages)
        return cleaned

    def get_conditions(self) -> dict:
        """Cleaned conditions of a valid form (the defaults for an unbound one)."""
        if not self.is_bound:
            return dict(DEFAULT_CONDITIONS)
        return self.conditions


def form_to_raw(cleaned: dict) -> dict:
    """The form's cleaned data as a raw conditions object."""
    lives_alone = {"yes": True, "no": False}.get(cleaned.get("lives_alone") or "")
    return {
        "age_min": cleaned.get("age_min"),
        "age_max": cleaned.get("age_max"),
        "tags": list(cleaned.get("tags") or []),
        "tags_mode": cleaned.get("tags_mode") or TAGS_ANY,
        "residence_status": list(cleaned.get("residence_status") or []),
        "neighbourhoods": list(cleaned.get("neighbourhoods") or []),
        "estates": list(cleaned.get("estates") or []),
        "buildings": list(cleaned.get("buildings") or []),
        "gender": cleaned.get("gender") or "",
        "lives_alone": lives_alone,
        "moved_out": cleaned.get("moved_out") or CURRENT,
    }


def conditions_to_querydict(conditions: dict) -> QueryDict:
    """The GET parameters of the builder page for cleaned ``conditions``."""
    query = QueryDict(mutable=True)
    for key in CONDITION_KINDS:
        if key not in conditions:
            continue
        value = conditions[key]
        if isinstance(value, list):
            query.setlist(key, [str(v) for v in value])
        elif isinstance(value, bool):
            query[key] = "yes" if value else "no"
        else:
            query[key] = str(value)
    return query


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
