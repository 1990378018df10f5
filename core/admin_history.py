"""Change history in the scoped admin: django-simple-history behind place scoping.

:class:`ScopedHistoryAdmin` joins :class:`core.admin_scoping.ScopedModelAdmin` and
simple-history's ``SimpleHistoryAdmin`` so that a cadre sees who changed what,
when - and nothing more:

* the history list and a past version's page answer 404 for an object outside
  the scope (simple-history would otherwise show the history of any object it
  can find, even a deleted one: that fallback is kept for superusers only);
* a past version is shown read-only; nothing is ever reverted from the history
  pages (a POST there is refused), since writes go through the services;
* the list of changes leaves out ``history_hidden_fields`` and, as simple-history
  does, non-editable fields (keyed hashes, encrypted tokens), except those named
  in ``history_extra_fields`` (e.g. the last four digits of an ID number, so that
  a changed number shows as changed); choices show their labels.
"""

from __future__ import annotations

import dataclasses

from django.contrib.admin.utils import unquote
from django.http import HttpResponseNotAllowed
from django.utils.text import capfirst
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import ModelChange
from simple_history.template_utils import HistoricalRecordContextHelper
from simple_history.utils import get_history_model_for_model

from core.admin_scoping import ScopedModelAdmin

_VERSION_FLAG = "_linli_history_version"


class ScopedHistoryContextHelper(HistoricalRecordContextHelper):
    """Formats one record's changes: hidden fields dropped, labels and choices readable."""

    def __init__(self, model, historical_record, *, hidden=(), extra=(), labels=None):
        super().__init__(model, historical_record)
        self.hidden = frozenset(hidden)
        self.extra = tuple(extra)
        self.labels = labels or {}

    def context_for_delta_changes(self, delta):
        shown = [change for change in delta.changes if change.field not in self.hidden]
        for name in self.extra:  # non-editable fields, which diff_against skips
            old = getattr(delta.old_record, name, None)
            new = getattr(delta.new_record, name, None)
            if old != new:
                shown.append(ModelChange(name, old or "-", new or "-"))
        return super().context_for_delta_changes(dataclasses.replace(delta, changes=shown))

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.choices and not isinstance(value, list):
            return dict(field.flatchoices).get(value, value)
        return super().prepare_delta_change_value(change, value)

    def format_delta_change(self, change):
        formatted = super().format_delta_change(change)
        label = self.labels.get(change.field)
        return dataclasses.replace(formatted, field=capfirst(label)) if label else formatted


class ScopedHistoryAdmin(ScopedModelAdmin, SimpleHistoryAdmin):
    """A scoped admin with simple-history's history pages (see the module docstring)."""

    #: tracked fields never shown in the history (e.g. keyed hashes)
    history_hidden_fields: tuple[str, ...] = ()
    #: tracked non-editable fields to list among the changes all the same
    history_extra_fields: tuple[str, ...] = ()
    #: labels for tracked fields whose verbose name means nothing to a cadre
    history_field_labels: dict = {}
    #: fields shown on a past version's page (None: the tracked, editable fields)
    history_version_fields: tuple[str, ...] | None = None
    #: select_related for the history list, so that changed relations cost nothing more
    history_select_related: tuple[str, ...] = ()

    # --- scope -------------------------------------------------------------------------

    def _check_history_scope(self, request, object_id) -> None:
        if not self.get_scope(request).everything:
            self.get_object(request, unquote(object_id))  # Http404 outside the scope

    def history_view(self, request, object_id, extra_context=None):
        self._check_history_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._check_history_scope(request, object_id)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])
        setattr(request, _VERSION_FLAG, True)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True

    # --- the list of changes -------------------------------------------------------------

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        queryset = super().get_history_queryset(request, history_manager, pk_name, object_id)
        if self.history_select_related:
            queryset = queryset.select_related(*self.history_select_related)
        return queryset

    def get_historical_record_context_helper(self, request, historical_record):
        return ScopedHistoryContextHelper(
            self.model,
            historical_record,
            hidden=self.history_hidden_fields,
            extra=self.history_extra_fields,
            labels=self.history_field_labels,
        )

    # --- a past version, read-only ---------------------------------------------------------

    def showing_history_version(self, request) -> bool:
        return getattr(request, _VERSION_FLAG, False)

    def get_history_version_fields(self, request, obj=None) -> tuple[str, ...]:
        if self.history_version_fields is not None:
            return tuple(self.history_version_fields)
        tracked = {f.name for f in get_history_model_for_model(self.model)._meta.fields}
        hidden = set(self.history_hidden_fields)
        return tuple(
            f.name
            for f in self.model._meta.concrete_fields
            if f.name in tracked and f.editable and not f.primary_key and f.name not in hidden
        )

    def get_fieldsets(self, request, obj=None):
        if self.showing_history_version(request):
            return [(None, {"fields": self.get_history_version_fields(request, obj)})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if self.showing_history_version(request):
            return self.get_history_version_fields(request, obj)
        return super().get_readonly_fields(request, obj)
