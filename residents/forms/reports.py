"""智慧报表 forms: the tick-box conditions form (a GET form: the page's address is the
report), saving a report by name and renaming one.

:func:`form_to_raw` turns the form's cleaned data into a raw conditions object,
which ``residents.selectors.reports.clean_conditions`` validates;
:func:`conditions_to_querydict` is the way back, from cleaned conditions to the
builder's GET parameters.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy

from buildings.models import Building, Estate, Neighbourhood

from ..models import CareTag, Gender, ResidenceStatus
from ..selectors.reports import (
    AGE_LIMIT,
    ALL,
    CONDITION_KINDS,
    CURRENT,
    DEFAULT_CONDITIONS,
    MOVED_OUT,
    TAGS_ALL,
    TAGS_ANY,
    clean_conditions,
    report_scope,
)

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


class SaveReportForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Report name"), max_length=100)
    neighbourhood = forms.TypedChoiceField(
        label=gettext_lazy("Neighbourhood"), coerce=int, required=True
    )

    def __init__(self, *args, neighbourhoods, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["neighbourhood"]
        field.choices = neighbourhoods
        if len(neighbourhoods) == 1:
            field.initial = neighbourhoods[0][0]
            field.widget = forms.HiddenInput()


class RenameReportForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("New name"), max_length=100)
