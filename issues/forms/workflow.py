"""The forms of a report's steps: the handler's moves, comments, the reporter's rating and
reopening. Each names the keyword arguments of its service."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.images import MultipleImageField

from ..models import Status


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _text(label, *, required=True, rows=2, max_length=2000):
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class AcknowledgeForm(forms.Form):
    note = _text(_("Note (public, optional)"), required=False)


class CommitForm(forms.Form):
    committed_due = forms.DateField(label=_("We will have it done by"), widget=DateInput())
    note = _text(_("Note (public, optional)"), required=False)


class ProgressForm(forms.Form):
    text = _text(_("What was done"), rows=3)
    photos = MultipleImageField(label=_("Photos"), required=False)


class ResolveForm(forms.Form):
    note = _text(_("How it was resolved"), rows=3)
    photos = MultipleImageField(label=_("Photos"), required=False)


class RejectForm(forms.Form):
    reason = _text(_("Why it is rejected"), max_length=500)


class MergeForm(forms.Form):
    into = forms.IntegerField(label=_("Number of the report it duplicates"), min_value=1)
    reason = _text(_("Reason"), max_length=500)


class NoteForm(forms.Form):
    text = _text(_("Internal note (handlers only)"), rows=3)


class CommentForm(forms.Form):
    text = _text(_("Your comment"), rows=3)


class ConfirmForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How well was it handled?"),
        coerce=int,
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label=_("Comment (optional)"), max_length=500, required=False)


class ReopenForm(forms.Form):
    reason = _text(_("Why is it not solved?"), max_length=500)


class ListFilterForm(forms.Form):
    """The residents' list: GET filters, the sort and the page cursor.

    The view renders the selects itself from :meth:`choices` (plain pairs, no widget
    templates). The building select lists the buildings of the chosen estate only
    (``buildings``), so it is empty until an estate is chosen. A field with a value that
    is not one of its choices is dropped; the other filters still apply."""

    SORTS = [
        ("newest", _("Newest")),
        ("upvotes", _("Most upvoted")),
        ("updated", _("Recently updated")),
    ]

    category = forms.TypedChoiceField(label=_("Category"), coerce=int, required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any")), *[(v, n) for v, n in Status.choices if v != Status.MERGED]],
    )
    estate = forms.TypedChoiceField(label=_("Estate"), coerce=int, required=False)
    building = forms.TypedChoiceField(label=_("Building"), coerce=int, required=False)
    sort = forms.ChoiceField(label=_("Order"), required=False, choices=SORTS)

    def __init__(self, *args, categories=(), estates=(), buildings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Any"))] + [(c.pk, c.name) for c in categories]
        self.fields["estate"].choices = [("", _("Any"))] + [(e.pk, e.name) for e in estates]
        self.fields["building"].choices = [("", _("Any"))] + [(b.pk, b.number) for b in buildings]
        self.has_buildings = bool(buildings)

    def _valid(self) -> dict:
        self.is_valid()
        return getattr(self, "cleaned_data", {})

    def filters(self) -> dict:
        return {k: v for k, v in self._valid().items() if k != "sort" and v not in ("", None)}

    def order(self) -> str:
        return self._valid().get("sort") or "newest"

    def choices(self):
        """``(field, [(value, label, selected)])`` for each select to render."""
        data = self.data if self.is_bound else {}
        for name in ("category", "status", "estate", "building", "sort"):
            if name == "building" and not self.has_buildings:
                continue
            field = self[name]
            current = str(data.get(name, ""))
            options = [(str(v), label, str(v) == current) for v, label in field.field.choices]
            yield field, options


class InboxFilterForm(forms.Form):
    """The handler's inbox: GET filters (overdue first is the order)."""

    OPEN = "open"
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[(OPEN, _("Open")), *Status.choices],
        initial=OPEN,
    )
    category = forms.TypedChoiceField(label=_("Category"), coerce=int, required=False)
    level = forms.ChoiceField(label=_("Held by"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args, categories=(), levels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Any"))] + [(c.pk, c.name) for c in categories]
        self.fields["level"].choices = [("", _("Any")), *levels]
