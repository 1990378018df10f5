"""The registry admin's care tags (关爱标签): a list superusers manage and cadres read."""

from __future__ import annotations

from django.contrib import admin

from buildings.permissions import MANAGE
from core.admin_scoping import reference_data_admin
from core.scoping import scope_for

from ..models import CareTag


@admin.register(CareTag)
@reference_data_admin  # the same tags everywhere; a cadre may look, managers edit
class CareTagAdmin(admin.ModelAdmin):
    """The configurable list of care tags: superusers (or holders of the model
    permissions) manage it; a cadre may look at it."""

    list_display = ("name", "code", "description", "sort_order", "active")
    list_filter = ("active",)
    search_fields = ("name", "code")
    ordering = ("sort_order", "name")

    def _manages(self, request, action: str) -> bool:
        user = request.user
        return bool(
            user.is_authenticated
            and user.is_active
            and (user.is_superuser or user.has_perm(f"residents.{action}_caretag"))
        )

    def _is_cadre(self, request) -> bool:
        user = request.user
        return (
            bool(user.is_authenticated and user.is_active) and not scope_for(user, MANAGE).is_empty
        )

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._manages(request, "view") or self._is_cadre(request)

    def has_add_permission(self, request):
        return self._manages(request, "add")

    def has_change_permission(self, request, obj=None):
        return self._manages(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._manages(request, "delete")
