"""The back office of webhooks: subscriptions and their deliveries.

Scoped (``core.admin_scoping``): a cadre sees the subscriptions and deliveries of the API
keys whose jurisdiction lies inside their places, read-only; superusers see all, and
add, change and delete subscriptions (through ``webhooks.services``). Deliveries are a
log: nobody adds or edits them here.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.admin_scoping import ScopedModelAdmin

from .events import event_choices
from .models import WebhookDelivery, WebhookSubscription
from .services import subscription_create, subscription_update


class SubscriptionForm(forms.ModelForm):
    url = forms.CharField(label=_("receiver URL"), max_length=500)
    events = forms.MultipleChoiceField(
        label=_("events"), choices=event_choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ["api_key", "url", "events", "active"]

    def clean(self):
        cleaned = super().clean()
        from .services import clean_events, clean_url

        errors = {}
        for name, check in (("url", clean_url), ("events", clean_events)):
            if name in cleaned:
                try:
                    cleaned[name] = check(cleaned[name])
                except ValidationError as exc:
                    errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        return cleaned


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ScopedModelAdmin):
    form = SubscriptionForm
    scoped_actions = ("view",)
    list_display = ["url", "api_key", "event_list", "active", "failure_count", "disabled_at"]
    list_filter = ["active"]
    search_fields = ["url", "api_key__name", "api_key__prefix"]
    list_select_related = ["api_key"]
    readonly_fields = ["failure_count", "disabled_at", "created_at"]

    @admin.display(description=_("events"))
    def event_list(self, obj):
        return ", ".join(obj.events or [])

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "api_key"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            subscription_update(
                subscription=obj, url=data["url"], events=data["events"], active=data["active"]
            )
            return
        created = subscription_create(
            api_key=data["api_key"], url=data["url"], events=data["events"]
        )
        if not data.get("active", True):
            subscription_update(subscription=created, active=False)
        for field in WebhookSubscription._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ScopedModelAdmin):
    scoped_actions = ("view",)
    list_display = ["event_type", "event_id", "subscription", "status", "attempts", "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "subscription__url"]
    list_select_related = ["subscription"]
    readonly_fields = [
        "subscription",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "next_attempt_at",
        "payload",
        "response_log",
        "created_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
