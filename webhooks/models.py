"""Webhook subscriptions of API keys, and the deliveries made to them.

A subscription belongs to one ``core.ApiKey``; what it may receive is bounded by that
key's jurisdiction (``webhooks.services.publish``). In the admin a cadre sees the
subscriptions (and deliveries) of keys whose jurisdiction lies inside their places:
``scope_q`` below.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _keys_inside_q(scope, prefix: str) -> Q:
    """Rows whose API key (at ``prefix``) has its jurisdiction inside ``scope``.

    A key on a neighbourhood, estate or building is inside when that place is in the
    scope; a key on an area, subdistrict or district only when the whole of it is (a
    neighbourhood cadre does not see the subscriptions of a district-wide key).
    """
    from buildings.models import Area, Building, District, Estate, Neighbourhood, Subdistrict

    if scope.everything:
        return Q()
    if scope.is_empty:
        return Q(pk__in=[])
    ct = ContentType.objects.get_for_model
    visible_nbh = Neighbourhood.objects.filter(Neighbourhood.scope_q(scope))
    hidden_nbh = Neighbourhood.objects.exclude(Neighbourhood.scope_q(scope))
    inside = {
        Neighbourhood: visible_nbh.values("pk"),
        Estate: Estate.objects.filter(Estate.scope_q(scope)).values("pk"),
        Building: Building.objects.filter(Building.scope_q(scope)).values("pk"),
        Area: Area.objects.filter(pk__in=visible_nbh.values("area_id"))
        .exclude(pk__in=hidden_nbh.filter(area_id__isnull=False).values("area_id"))
        .values("pk"),
        Subdistrict: Subdistrict.objects.filter(
            Q(pk__in=sorted(scope.subdistrict_ids)) | Q(district_id__in=sorted(scope.district_ids))
        ).values("pk"),
        District: District.objects.filter(pk__in=sorted(scope.district_ids)).values("pk"),
    }
    condition = Q(pk__in=[])
    for model, ids in inside.items():
        condition |= Q(**{f"{prefix}place_type_id": ct(model).pk, f"{prefix}place_id__in": ids})
    return condition


class WebhookSubscription(models.Model):
    """An API client's order for events: where to send them and the secret to sign with."""

    api_key = models.ForeignKey(
        "core.ApiKey",
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        verbose_name=_("API key"),
    )
    url = models.URLField(_("receiver URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    failure_count = models.PositiveIntegerField(_("failed deliveries in a row"), default=0)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["-id"]

    def __str__(self):
        return self.url

    @classmethod
    def scope_q(cls, scope) -> Q:
        return _keys_inside_q(scope, "api_key__")


class WebhookDelivery(models.Model):
    """One event for one subscription: its signed message and every attempt to send it."""

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
    STATUS_CHOICES = [
        (PENDING, _("pending")),
        (DELIVERED, _("delivered")),
        (FAILED, _("failed")),
    ]

    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("subscription"),
    )
    event_type = models.CharField(_("event"), max_length=100)
    event_id = models.CharField(_("message id"), max_length=40, unique=True)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(
        _("status"), max_length=20, choices=STATUS_CHOICES, default=PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    response_log = models.JSONField(_("response log"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self):
        return f"{self.event_type} {self.event_id}"

    @classmethod
    def scope_q(cls, scope) -> Q:
        return _keys_inside_q(scope, "subscription__api_key__")
