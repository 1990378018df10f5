"""Back office of the core app: API keys (superusers only) and the audit log.

A key is created here with a name, scopes, a jurisdiction (place type + id)
and an optional expiry; the full key is shown once, in the success message
after saving, and never stored. Keys are revoked, not deleted, so that their
record stays.

The audit log (AuditEvent) is read-only for everybody, superusers included; a
cadre reads the entries of their own neighbourhoods (404 for another's).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin_scoping import NeighbourhoodNameMixin, ScopedModelAdmin, SuperuserOnlyMixin
from core.api.authentication import forget_cached_key
from core.api.places import place_type_choices, resolve_place
from core.api.scopes import api_scope_choices
from core.audit import action_label
from core.models import ApiKey, AuditEvent
from core.scoping import place_models
from core.services import api_key_create, api_key_revoke


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=api_scope_choices,  # the scopes the apps registered
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the key may do."),
    )
    place_kind = forms.ChoiceField(
        label=_("jurisdiction type"),
        choices=place_type_choices,
        help_text=_("The key sees only what lies inside this place."),
    )
    place_pk = forms.IntegerField(
        label=_("jurisdiction id"),
        min_value=1,
        help_text=_("The id of that place (shown in its admin page address)."),
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "expires_at"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise ValidationError(_("The expiry must be in the future."))
        return expires_at

    def clean(self):
        cleaned = super().clean()
        kind, pk = cleaned.get("place_kind"), cleaned.get("place_pk")
        if kind and pk:
            try:
                cleaned["place"] = resolve_place(kind, pk)
            except ValidationError as error:
                self.add_error("place_pk", error)
        return cleaned


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", _("active")), ("revoked", _("revoked")), ("expired", _("expired"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.active()
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    list_display = [
        "prefix",
        "name",
        "scope_list",
        "jurisdiction",
        "last_used_at",
        "is_revoked",
        "expires_at",
        "created_at",
    ]
    list_display_links = ["prefix", "name"]
    list_filter = [StatusFilter]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    change_readonly = [
        "prefix",
        "scope_list",
        "jurisdiction",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]

    # --- superusers only (SuperuserOnlyMixin), and nobody deletes -------------------
    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record stays

    # --- list --------------------------------------------------------------------
    def get_queryset(self, request):
        # One query per place type; select_related() so that a place's name
        # (e.g. "甲花园 1号楼", which reads the estate) costs nothing more.
        places = GenericPrefetch(
            "place", [model._default_manager.select_related() for model in place_models()]
        )
        return super().get_queryset(request).select_related("place_type").prefetch_related(places)

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes or [])

    @admin.display(description=_("jurisdiction"))
    def jurisdiction(self, obj):
        model = obj.place_type.model_class()
        kind = model._meta.verbose_name if model else obj.place_type.model
        place = obj.place
        if place is None:
            return gettext("%(type)s #%(id)s (missing)") % {"type": kind, "id": obj.place_id}
        return f"{kind}: {place} (#{obj.place_id})"

    @admin.display(description=_("revoked"), boolean=True)
    def is_revoked(self, obj):
        return obj.revoked_at is not None

    # --- add and change ------------------------------------------------------------
    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (
                    None,
                    {
                        "fields": ["name", "scopes", ("place_kind", "place_pk"), "expires_at"],
                        "description": _(
                            "The full key is shown once, after saving. Copy it then: "
                            "only its hash is kept."
                        ),
                    },
                )
            ]
        return [(None, {"fields": ["name", "expires_at", *self.change_readonly]})]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.change_readonly

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            forget_cached_key(obj)  # a new expiry (or name) holds from the next request on
            return
        api_key, full_key = api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            place=form.cleaned_data["place"],
            created_by=request.user,
            expires_at=form.cleaned_data.get("expires_at"),
        )
        # The admin goes on with `obj` (history entry, redirect): make it the new row.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(api_key, field.attname))
        obj._state.adding = False
        obj._state.db = api_key._state.db
        messages.success(
            request,
            gettext("The new API key is: %(key)s - copy it now, it will not be shown again.")
            % {"key": full_key},
        )

    # --- actions -----------------------------------------------------------------------
    @admin.action(description=_("Revoke the selected API keys"), permissions=["change"])
    def revoke(self, request, queryset):
        count = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
            count += 1
        self.message_user(
            request,
            gettext("%(count)d API key(s) revoked.") % {"count": count},
            messages.SUCCESS,
        )


# --- the audit log: read-only for everybody -----------------------------------------------


class ActionFilter(admin.SimpleListFilter):
    """The actions found in the rows the user may read, by the labels the apps declared
    for them (core.audit); an action nobody declared shows as its code."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        codes = model_admin.get_queryset(request).order_by().values_list("action", flat=True)
        return sorted(((code, action_label(code)) for code in set(codes)), key=lambda c: c[1])

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(action=value) if value else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(NeighbourhoodNameMixin, ScopedModelAdmin):
    """Who did what to whom, when, from where. Nobody adds, edits or deletes an entry
    here, superusers included; a cadre reads their own neighbourhoods' entries.

    Actions show by their labels and neighbourhoods by their names (one subquery for
    the page, whatever its size), never as raw codes or ids."""

    scoped_actions = ("view",)
    list_display = (
        "created_at",
        "actor_label",
        "action_display",
        "target_type",
        "target_label",
        "ip_display",
        "neighbourhood_display",
    )
    list_display_links = ("created_at", "action_display")
    list_select_related = ("target_type",)
    list_filter = (ActionFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("actor_label", "target_label")
    search_help_text = _("Search by who acted or by the object, as recorded.")
    fields = (
        "created_at",
        "actor",
        "actor_label",
        "action_display",
        "target_type",
        "target_id",
        "target_label",
        "neighbourhood_display",
        "ip_display",
        "params",
    )
    readonly_fields = fields

    @admin.display(description=_("action"), ordering="action")
    def action_display(self, obj):
        return action_label(obj.action)

    @admin.display(description=_("IP address"), ordering="ip_address")
    def ip_display(self, obj):
        return obj.ip_address or "-"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
