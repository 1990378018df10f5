"""Serializers of /api/v1/webhooks/: shapes only; the rules are the services'."""

from django.utils.translation import gettext as _
from rest_framework import serializers

from ..events import event_choices
from ..models import WebhookDelivery, WebhookSubscription
from ..services import MAX_URL_LENGTH


class EventListField(serializers.ListField):
    """A list of registered event codes (the choices are read when the field is built:
    apps register their events in ready())."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.ChoiceField(choices=event_choices()))
        kwargs.setdefault("allow_empty", False)
        kwargs.setdefault("max_length", 50)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # the API's error shape holds a list of messages per field: flatten the
        # per-item errors ({"0": [...]}) into "item 0: ..." messages
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError(
                [
                    _("Item %(index)s: %(message)s") % {"index": index, "message": message}
                    for index, messages in exc.detail.items()
                    for message in messages
                ]
            ) from None


class SubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "active", "failure_count", "disabled_at", "created_at"]
        read_only_fields = fields


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (whsec_...). Shown in this answer only: keep it.",
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class SubscriptionCreateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=MAX_URL_LENGTH, help_text="https://... of the receiver")
    events = EventListField()


class SubscriptionUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=MAX_URL_LENGTH, required=False)
    events = EventListField(required=False)
    active = serializers.BooleanField(
        required=False, help_text="Switch the subscription off, or on again after it was disabled."
    )


class ResponseLogEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    attempt = serializers.IntegerField()
    status = serializers.IntegerField(required=False, help_text="The receiver's HTTP status.")
    error = serializers.CharField(required=False, help_text="Why nothing was answered.")


class DeliverySerializer(serializers.ModelSerializer):
    subscription = serializers.PrimaryKeyRelatedField(read_only=True)
    response_log = ResponseLogEntrySerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_type",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "response_log",
            "created_at",
        ]
        read_only_fields = fields
