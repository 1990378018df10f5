"""Reference data of issue reporting: categories (Open311 services) and departments.

Both are the superuser's (``SuperuserOnlyMixin``): a category is one list for every
place, and a department, though it belongs to a subdistrict, decides where reports of
a whole subdistrict go; neither is edited by the handlers themselves.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin_scoping import SuperuserOnlyMixin

from ..models import Category, CategoryAttribute, Department


class CategoryAttributeInline(SuperuserOnlyMixin, admin.TabularInline):
    """A category's extra questions (Open311 attributes)."""

    model = CategoryAttribute
    extra = 0
    fields = (
        "position",
        "code",
        "datatype",
        "required",
        "description_zh",
        "description_en",
        "values",
    )


@admin.register(Category)
class CategoryAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "name_zh",
        "name_en",
        "group_zh",
        "handler_kind",
        "department_code",
        "acknowledge_hours",
        "resolve_hours",
        "active",
        "position",
    )
    list_editable = ("active", "position")
    list_filter = ("handler_kind", "active")
    search_fields = ("code", "name_zh", "name_en", "keywords")
    ordering = ("position", "code")
    inlines = (CategoryAttributeInline,)
    fieldsets = (
        (None, {"fields": ("code", ("name_zh", "name_en"), ("group_zh", "group_en"))}),
        (_("Description"), {"fields": ("description_zh", "description_en", "keywords")}),
        (
            _("Handling"),
            {
                "fields": (
                    ("handler_kind", "department_code"),
                    ("acknowledge_hours", "resolve_hours"),
                    ("active", "position"),
                )
            },
        ),
    )


@admin.register(Department)
class DepartmentAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "code", "subdistrict", "phone", "staff_count")
    list_select_related = ("subdistrict",)
    list_filter = ("code",)
    search_fields = ("name", "code", "subdistrict__name")
    autocomplete_fields = ("subdistrict", "staff")

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(staff_total=Count("staff", distinct=True))

    @admin.display(description=_("staff"), ordering="staff_total")
    def staff_count(self, obj):
        return obj.staff_total
