"""The scoped Django admin: cadres see and touch only the places they hold.

Every admin class of a place-bound model inherits :class:`ScopedModelAdmin`
(inlines: :class:`ScopedTabularInline` / :class:`ScopedStackedInline`). The base
builds the queryset from ``core.scoping`` - ``scope_for(request.user,
self.scope_permission)`` applied with the model's ``scope_q`` - and everything
the admin derives from that queryset follows: the changelist, search, actions,
autocomplete, change / delete / history views. On top of that it

* refuses a subclass that defines ``get_queryset`` (``TypeError`` when the class
  is created); subclasses add ``select_related`` and annotations in
  ``safely_get_queryset(request)``, and the scope is applied to its result;
* answers 404 - never a redirect or a 403 - for an object outside the scope in
  the change, delete and history views;
* limits foreign-key and many-to-many choices to the related model's scoped rows
  when that model declares ``scope_q`` (through the related model's own scoped
  admin when it has one);
* turns list filters on relations into ``RelatedOnlyFieldListFilter`` so that a
  filter only offers places found in the scoped rows;
* grants view / add / change / delete from place grants, not Django model
  permissions: a superuser may do everything, another user what
  ``scoped_actions`` lists provided their scope is not empty;
* checks after saving, inside the admin's transaction, that the saved object is
  still inside the scope (a forged parent id is a 404 and nothing is saved).

The rare row visible outside the scope (a property company that serves no estate
yet) is declared with ``unscoped_visible_q``, named so that a reviewer sees it.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.scoping import Scope, scope_for

DEFAULT_SCOPE_PERMISSION = "buildings.manage_neighbourhood"
ALL_ACTIONS = ("view", "add", "change", "delete")


class SuperuserOnlyMixin:
    """Marks an admin as the superuser's alone (accounts, roles, API keys): the scoped-base
    walk test accepts it in place of a scoped base."""

    def _is_superuser(self, request) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_active and user.is_superuser)

    def has_module_permission(self, request):
        return self._is_superuser(request)

    def has_view_permission(self, request, obj=None):
        return self._is_superuser(request)

    def has_add_permission(self, request, obj=None):
        return self._is_superuser(request)

    def has_change_permission(self, request, obj=None):
        return self._is_superuser(request)

    def has_delete_permission(self, request, obj=None):
        return self._is_superuser(request)


REFERENCE_DATA_MARK = "linli_reference_data"


def reference_data_admin(admin_class):
    """Mark an admin of global reference data: one list for every place (e.g. care tags),
    no row belonging to a place. The scoped-base walk test accepts it in place of a
    scoped base, unless its model is place-bound (declares ``scope_q``)."""
    setattr(admin_class, REFERENCE_DATA_MARK, True)
    return admin_class


def _not_found(opts) -> Http404:
    return Http404(_("No %(name)s found here.") % {"name": opts.verbose_name})


def _is_relation_path(model, path: str) -> bool:
    try:
        field = get_fields_from_path(model, path)[-1]
    except (FieldDoesNotExist, LookupError, AttributeError):
        return False
    return bool(getattr(field, "is_relation", False))


class _ScopedAdminMixin:
    """What model admins and inlines share: queryset, permissions, choices."""

    #: the place permission (or several) whose scope decides what is visible
    scope_permission: str | tuple[str, ...] = DEFAULT_SCOPE_PERMISSION
    #: what a non-superuser whose scope is not empty may do here
    scoped_actions: tuple[str, ...] = ALL_ACTIONS
    #: select_related for the rows offered as choices in other admins' forms
    choice_select_related: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.get_queryset is not _ScopedAdminMixin.get_queryset:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset; implement "
                "safely_get_queryset(request) so that place scoping cannot be skipped."
            )
        unknown = set(cls.scoped_actions) - set(ALL_ACTIONS)
        if unknown:
            raise TypeError(f"{cls.__name__}.scoped_actions has unknown actions: {unknown}")

    def _check_model_is_scoped(self):
        if not hasattr(self.model, "scope_q"):
            raise ImproperlyConfigured(
                f"{type(self).__name__}: {self.model.__name__} does not declare scope_q(scope)"
            )

    # --- queryset -------------------------------------------------------------

    def get_scope(self, request) -> Scope:
        return scope_for(request.user, self.scope_permission)

    def safely_get_queryset(self, request) -> QuerySet:
        """The rows before scoping; override to add select_related / annotations."""
        return super().get_queryset(request)

    def unscoped_visible_q(self, request) -> Q | None:
        """Rows visible even outside the scope (reviewed exceptions); None for none."""
        return None

    def get_queryset(self, request):
        return self._apply_scope(request, self.safely_get_queryset(request))

    def _apply_scope(self, request, queryset: QuerySet, scope: Scope | None = None) -> QuerySet:
        scope = scope if scope is not None else self.get_scope(request)
        if scope.everything:
            return queryset
        if scope.is_empty:
            return queryset.none()
        condition = self.model.scope_q(scope)
        extra = self.unscoped_visible_q(request)
        if extra is not None:
            condition = condition | extra
        return queryset.filter(condition)

    def get_choice_queryset(self, request, scope: Scope | None = None) -> QuerySet:
        """Scoped rows of this admin's model, light enough to fill a select box."""
        queryset = self.model._default_manager.all()
        if self.choice_select_related:
            queryset = queryset.select_related(*self.choice_select_related)
        ordering = self.get_ordering(request)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return self._apply_scope(request, queryset, scope)

    # --- choices --------------------------------------------------------------

    def scoped_choices(self, request, model) -> QuerySet | None:
        """The rows of ``model`` this user may pick, or None when ``model`` is not a place."""
        scope = self.get_scope(request)
        try:
            related_admin = self.admin_site.get_model_admin(model)
        except NotRegistered:
            related_admin = None
        if isinstance(related_admin, _ScopedAdminMixin):
            return related_admin.get_choice_queryset(request, scope)
        if hasattr(model, "scope_q"):
            return scope.filter(model._default_manager.all())
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            queryset = self.scoped_choices(request, db_field.remote_field.model)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            queryset = self.scoped_choices(request, db_field.remote_field.model)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # --- permissions: place grants, not model permissions -----------------------

    def _allows(self, request, action: str) -> bool:
        user = request.user
        if not (user.is_authenticated and user.is_active):
            return False
        if user.is_superuser:
            return True
        return action in self.scoped_actions and not self.get_scope(request).is_empty

    def has_view_permission(self, request, obj=None):
        return self._allows(request, "view") or self._allows(request, "change")

    def has_add_permission(self, request, obj=None):
        return self._allows(request, "add")

    def has_change_permission(self, request, obj=None):
        return self._allows(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._allows(request, "delete")


class ScopedModelAdmin(_ScopedAdminMixin, admin.ModelAdmin):
    """Base of every admin over place-bound rows (see the module docstring)."""

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        self._check_model_is_scoped()

    def safely_get_queryset(self, request):
        # The changelist applies list_select_related only to a queryset without any
        # select_related; applying it here keeps it when a subclass adds its own.
        queryset = super().safely_get_queryset(request)
        if self.list_select_related and self.list_select_related is not True:
            queryset = queryset.select_related(*self.list_select_related)
        return queryset

    def has_module_permission(self, request):
        return any(self._allows(request, action) for action in ALL_ACTIONS)

    # --- an object outside the scope is a 404 ------------------------------------

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise _not_found(self.opts)
        return obj

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise _not_found(opts)

    # --- list filters only offer places in scope ---------------------------------

    def get_list_filter(self, request):
        filters = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and _is_relation_path(self.model, item):
                item = (item, admin.RelatedOnlyFieldListFilter)
            elif (
                isinstance(item, (tuple, list))
                and len(item) == 2
                and item[1] is admin.RelatedFieldListFilter
            ):
                item = (item[0], admin.RelatedOnlyFieldListFilter)
            filters.append(item)
        return filters

    # --- a saved object must lie inside the scope ------------------------------------

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self.ensure_in_scope(request, form.instance)

    def ensure_in_scope(self, request, obj) -> None:
        """Raise 404 (the admin's transaction then rolls back) if ``obj`` left the scope."""
        if obj.pk is None or self.get_scope(request).everything:
            return
        if not self.get_queryset(request).filter(pk=obj.pk).exists():
            raise _not_found(self.opts)


class _ScopedInlineMixin(_ScopedAdminMixin):
    def __init__(self, parent_model, admin_site):
        super().__init__(parent_model, admin_site)
        self._check_model_is_scoped()


class ScopedTabularInline(_ScopedInlineMixin, admin.TabularInline):
    """A tabular inline whose rows, choices and permissions follow the scope."""


class ScopedStackedInline(_ScopedInlineMixin, admin.StackedInline):
    """A stacked inline whose rows, choices and permissions follow the scope."""


class NeighbourhoodNameMixin:
    """For a scoped admin over rows that keep a bare ``neighbourhood_id`` (core, and apps
    below buildings): the neighbourhood shows by its name, read with one subquery for the
    page whatever its size (the place model is named through ``core.scoping.kind_model``,
    so the app never imports buildings). Put ``"neighbourhood_display"`` in the lists."""

    def safely_get_queryset(self, request):
        from django.db.models import OuterRef, Subquery

        from core.scoping import NEIGHBOURHOOD, kind_model

        queryset = super().safely_get_queryset(request)
        neighbourhoods = kind_model(NEIGHBOURHOOD)
        if neighbourhoods is None:
            return queryset
        name = neighbourhoods._default_manager.filter(pk=OuterRef("neighbourhood_id"))
        return queryset.annotate(neighbourhood_name=Subquery(name.values("name")[:1]))

    @admin.display(description=gettext_lazy("neighbourhood"), ordering="neighbourhood_id")
    def neighbourhood_display(self, obj):
        if obj.neighbourhood_id is None:
            return "-"
        return getattr(obj, "neighbourhood_name", None) or obj.neighbourhood_id
