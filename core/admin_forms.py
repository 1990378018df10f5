"""Admin forms that validate and save through a service: the one pattern for every app.

A back-office form whose model has rules (``residents``' residents and households,
``buildings``' elevator inspections ...) is a :class:`ServiceModelForm` and names its
write in :meth:`~ServiceModelForm.call_service`, which calls the app's service with
the form's cleaned data and returns the saved row. Once the fields and the form's
``clean()`` have passed, validation makes that same call inside a savepoint that is
always rolled back, so that the service's ``ValidationError`` shows as form errors
(on the fields it names, the rest on the form) and validating writes nothing. The admin class takes
:class:`ServiceFormAdminMixin`, which tells the form who is acting and, on save,
calls ``call_service`` again, for real, and makes the admin's instance the saved row.

Why this pattern, and not a ``<entity>_validate`` function beside each service for
the form to call first:

* a rule lives once, in the service (docs/architecture.md: "Where a rule lives"). The
  form can neither accept what the service will refuse nor refuse what it accepts,
  and a rule added to the service shows on the form with no second change;
* checks that read the database (a duplicate ID number, a household head who must
  be a member, a second inspection of an elevator on one day, read under the row
  lock the write takes) run exactly as they will on saving, not as a copy that
  may drift;
* a service keeps one entry point, which views, the API, tasks and the admin share.

Its price: a valid submission runs the write twice, once rolled back - nothing for a
back-office form. Services called this way must keep their side effects behind
``transaction.on_commit``, as every service does: callbacks registered inside a
rolled-back savepoint are discarded, and so are the rows (audit records included)
written in it. ``call_service`` must not change objects shared with the form (the
cleaned data's model instances): fetch fresh rows from their primary keys.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction


class _DryRun(Exception):
    """Raised inside a savepoint to roll back a service call made only to validate."""


def adopt_saved(obj, saved) -> None:
    """Make the admin's form instance the row a service saved (log entry, redirect)."""
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db
    getattr(obj, "_prefetched_objects_cache", {}).clear()


class ServiceModelForm(forms.ModelForm):
    """A ModelForm whose saving is a service call (see the module docstring)."""

    #: who is acting (set by ServiceFormAdminMixin.get_form)
    acting_user = None

    def call_service(self):
        """Write the cleaned data through the app's service; return the saved row.

        Raises the service's ValidationError. Called twice: while validating (rolled
        back) and when the admin saves.
        """
        raise NotImplementedError

    def saves_through_service(self) -> bool:
        """Whether this submission is written by :meth:`call_service` (default: always).

        A form whose later changes have no rule (free-text corrections) returns False
        for them: it is then validated and saved as a plain ModelForm.
        """
        return True

    def _clean_form(self):
        # After the fields and the form's own clean() (a subclass's checks included),
        # before the model's checks: the service's messages win over the model's
        # generic ones (a unique constraint that the service checks itself), and the
        # model still checks the fields the service did not fault.
        super()._clean_form()
        if self.errors or not self.saves_through_service():
            return
        try:
            with transaction.atomic():
                self.call_service()
                raise _DryRun
        except _DryRun:
            pass
        except ValidationError as exc:
            self.add_service_errors(exc)

    def add_service_errors(self, exc: ValidationError) -> None:
        """Errors keyed by a field of the form go on it; the others on the form."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for field, errors in exc.error_dict.items():
            self.add_error(field if field in self.fields else None, errors)


class ServiceFormAdminMixin:
    """For a ModelAdmin whose ``form`` is a :class:`ServiceModelForm`; put it first."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"acting_user": request.user})

    def save_model(self, request, obj, form, change):
        if not form.saves_through_service():
            super().save_model(request, obj, form, change)
            return
        adopt_saved(obj, form.call_service())
        # The service wrote the many-to-many fields too; only the formsets remain.
        form.save_m2m = lambda: None
