"""Webhook endpoints under /api/v1/webhooks/.

* ``subscriptions/`` (+ detail): an API key with ``webhooks:manage`` lists, creates,
  reads, changes (PATCH) and deletes its own subscriptions; another key's is a 404.
  The signing secret is in the answer to the POST only.
* ``deliveries/`` (+ detail): read-only, the deliveries to the key's subscriptions with
  their response log.

A signed-in user (browser session) may read the subscriptions and deliveries of the API
keys inside their places (a superuser: all), as in the admin; writes need an API key,
since a subscription belongs to the key that made it.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from buildings.permissions import MANAGE
from core.api.authentication import ApiKeyPrincipal
from core.api.permissions import HasScope
from core.api.views import ScopedQuerysetMixin, ScopedReadOnlyViewSet

from ..apps import WEBHOOKS_MANAGE
from ..models import WebhookDelivery, WebhookSubscription
from ..services import subscription_create, subscription_delete, subscription_update
from . import serializers


class WritesNeedAnApiKey(permissions.BasePermission):
    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS or isinstance(request.user, ApiKeyPrincipal):
            return True
        raise exceptions.PermissionDenied(
            _("Webhook subscriptions are changed with the API key they belong to."),
            code="api_key_required",
        )


def _own_rows(request, queryset, key_path: str):
    """An API key sees its own rows only; a user what the place scope then allows."""
    if isinstance(request.user, ApiKeyPrincipal):
        return queryset.filter(**{key_path: request.user.api_key.pk})
    return queryset


@extend_schema(tags=["webhooks"])
class SubscriptionViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook subscriptions (Standard Webhooks) of the calling API key."""

    scope_permission = MANAGE
    read_scope = WEBHOOKS_MANAGE
    write_scope = WEBHOOKS_MANAGE
    permission_classes = [HasScope, WritesNeedAnApiKey]
    serializer_class = serializers.SubscriptionSerializer
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def safely_get_queryset(self):
        return _own_rows(self.request, WebhookSubscription.objects.all(), "api_key_id")

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.SubscriptionCreateSerializer
        if self.action == "partial_update":
            return serializers.SubscriptionUpdateSerializer
        return serializers.SubscriptionSerializer

    @extend_schema(
        request=serializers.SubscriptionCreateSerializer,
        responses={201: serializers.SubscriptionCreatedSerializer},
    )
    def create(self, request, *args, **kwargs):
        """Subscribe a URL to events; the answer holds the signing secret, once."""
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = subscription_create(api_key=request.user.api_key, **body.validated_data)
        data = serializers.SubscriptionCreatedSerializer(subscription).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.SubscriptionUpdateSerializer,
        responses=serializers.SubscriptionSerializer,
    )
    def partial_update(self, request, *args, **kwargs):
        """Change the URL or the events, or switch the subscription off or on again."""
        subscription = self.get_object()
        body = self.get_serializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        subscription_update(subscription=subscription, **body.validated_data)
        return Response(serializers.SubscriptionSerializer(subscription).data)

    def update(self, request, *args, **kwargs):
        if not kwargs.get("partial"):
            raise exceptions.MethodNotAllowed(request.method)
        return super().update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        """Delete the subscription and its delivery log."""
        subscription_delete(subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["webhooks"])
class DeliveryViewSet(ScopedReadOnlyViewSet):
    """Deliveries to the calling key's subscriptions, with every attempt's answer."""

    scope_permission = MANAGE
    read_scope = WEBHOOKS_MANAGE
    serializer_class = serializers.DeliverySerializer

    def safely_get_queryset(self):
        return _own_rows(self.request, WebhookDelivery.objects.all(), "subscription__api_key_id")


ROUTES = [
    ("webhooks/subscriptions", SubscriptionViewSet, "webhook-subscription"),
    ("webhooks/deliveries", DeliveryViewSet, "webhook-delivery"),
]


def register(router):
    """Add the webhook endpoints to the /api/v1/ router."""
    for prefix, viewset, basename in ROUTES:
        router.register(prefix, viewset, basename=basename)
