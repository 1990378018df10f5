"""The back office for accounts and roles: both are the superuser's.

A cadre never sees the account list (accounts are not places; a cadre's view of
people is the scoped registry). Roles are granted and revoked only through
``accounts.services.role_grant`` / ``role_revoke``, which keep the guardian
permissions and the staff flag in step with the RoleAssignment rows.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.core.exceptions import ValidationError
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin_scoping import SuperuserOnlyMixin
from core.scoping import place_models, place_queryset

from .models import RoleAssignment, User
from .services import role_grant, role_grant_check, role_revoke
from .validators import normalise_mobile, validate_mobile

# --- accounts ------------------------------------------------------------------------


class PhoneFieldMixin(forms.Form):
    """Accepts a number as people type it (+86, spaces, dashes) and stores 11 digits."""

    phone = forms.CharField(
        label=User._meta.get_field("phone").verbose_name,
        max_length=20,
        validators=[validate_mobile],
    )

    def clean_phone(self):
        return normalise_mobile(self.cleaned_data["phone"])


class UserCreationForm(PhoneFieldMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("phone", "name")
        field_classes = {}


class UserEditForm(PhoneFieldMixin, UserChangeForm):
    class Meta:
        model = User
        fields = (
            "phone",
            "password",
            "name",
            "email",
            "language",
            "verified",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        )
        field_classes = {}


@admin.register(User)
class UserAdmin(SuperuserOnlyMixin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("phone", "password")}),
        (_("Personal info"), {"fields": ("name", "email", "language", "verified")}),
        (
            _("Permissions"),
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "role_list",
                    "groups",
                    "user_permissions",
                ),
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("phone", "name", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("role_list", "last_login", "date_joined")
    list_display = (
        "phone",
        "name",
        "verified",
        "language",
        "is_staff",
        "is_superuser",
        "is_active",
        "last_login",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "verified", "language")
    search_fields = ("phone", "name", "email")
    search_help_text = _("Search by mobile number, name or e-mail.")
    ordering = ("phone",)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and obj.pk == request.user.pk:
            # Nobody locks themselves out of the back office by accident.
            return (*fields, "is_active", "is_staff", "is_superuser")
        return fields

    @admin.display(description=_("roles"))
    def role_list(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        assignments = obj.role_assignments.select_related("place_type").prefetch_related(
            _place_prefetch()
        )
        if not assignments:
            return "-"
        return format_html_join(
            ", ", "{} · {}", ((a.get_role_display(), a.place) for a in assignments)
        )


# --- roles -------------------------------------------------------------------------------


def _place_prefetch() -> GenericPrefetch:
    # each place model's queryset loads what its name needs (core.scoping.register_place)
    return GenericPrefetch("place", [place_queryset(model) for model in place_models()])


class RoleAssignmentForm(forms.ModelForm):
    """Picks a user, a role and a place; the service's own check validates the pair."""

    class Meta:
        model = RoleAssignment
        fields = ("user", "role", "place_type", "place_id")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "place_type" in self.fields:
            cts = ContentType.objects.get_for_models(*place_models()).values()
            self.fields["place_type"].queryset = ContentType.objects.filter(
                pk__in=[ct.pk for ct in cts]
            ).order_by("model")
            self.fields["place_id"].help_text = _("The id of the place, e.g. a neighbourhood's.")

    def clean(self):
        cleaned = super().clean()
        role, place_type, place_id = (
            cleaned.get("role"),
            cleaned.get("place_type"),
            cleaned.get("place_id"),
        )
        if not (role and place_type and place_id is not None):
            return cleaned
        try:
            place = place_type.get_object_for_this_type(pk=place_id)
        except place_type.model_class().DoesNotExist:
            self.add_error("place_id", _("There is no such place."))
            return cleaned
        try:
            role_grant_check(role=role, place=place)
        except ValidationError as exc:
            self.add_error(None, exc)
            return cleaned
        cleaned["place"] = place
        return cleaned


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    form = RoleAssignmentForm
    list_display = ("user", "role", "place_name", "place_type", "granted_by", "created_at")
    list_select_related = ("user", "place_type", "granted_by")
    list_filter = ("role", "place_type")
    search_fields = ("user__phone", "user__name")
    search_help_text = _("Search by the user's mobile number or name.")
    autocomplete_fields = ("user",)
    readonly_fields = ("place_name", "granted_by", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(_place_prefetch())

    def has_change_permission(self, request, obj=None):
        return False  # a role is granted or revoked, never edited in place

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("user", "role", "place_type", "place_id")
        return ("user", "role", "place_name", "granted_by", "created_at")

    @admin.display(description=_("place"))
    def place_name(self, obj):
        return obj.place if obj.place is not None else "-"

    def save_model(self, request, obj, form, change):
        assignment = role_grant(
            user=form.cleaned_data["user"],
            role=form.cleaned_data["role"],
            place=form.cleaned_data["place"],
            granted_by=request.user,
        )
        for field in obj._meta.concrete_fields:
            setattr(obj, field.attname, getattr(assignment, field.attname))
        obj._state.adding = False
        obj._state.db = assignment._state.db

    def delete_model(self, request, obj):
        role_revoke(assignment=obj)

    def delete_queryset(self, request, queryset):
        for assignment in queryset.select_related("user", "place_type").order_by("pk"):
            role_revoke(assignment=assignment)
