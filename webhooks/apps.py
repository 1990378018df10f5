from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The API-key scope of /api/v1/webhooks/ (webhooks/api/views.py), registered in ready().
WEBHOOKS_MANAGE = "webhooks:manage"
# The events published today. Later apps register theirs (issue.created, issue.updated,
# issue.resolved, poll.closed ...) with webhooks.events.register_event in their ready().
WELLBEING_ALERT = "wellbeing.alert"


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from core.api.scopes import register_api_scope

        from .events import register_event

        register_api_scope(WEBHOOKS_MANAGE, _("manage webhook subscriptions"))
        # raised by the registry (residents), which sits below and cannot name us
        register_event(WELLBEING_ALERT, _("wellbeing alert raised"))

        from residents.signals import wellbeing_alerts_raised

        wellbeing_alerts_raised.connect(_publish_alerts, dispatch_uid="webhooks-wellbeing")


def _publish_alerts(sender, gaps, **_kwargs) -> None:
    """``wellbeing.alert`` for every alert a run raised (inside its transaction)."""
    from residents.models import WellbeingAlert

    from .payloads import publish_wellbeing_alerts

    wanted = set(gaps)
    residents = sorted({resident_id for resident_id, _seen in wanted})
    alerts = WellbeingAlert.objects.filter(resident_id__in=residents).order_by("pk")
    publish_wellbeing_alerts(a for a in alerts if (a.resident_id, a.last_seen_at) in wanted)
