"""The ``data`` of the events this app publishes for apps below it.

The registry (residents) cannot name webhooks (it sits lower), so whoever raises a
wellbeing alert above it calls :func:`publish_wellbeing_alert` with the alert. The
object carries ids and times only: a district system that needs a name asks the API
with its key (``residents:read``), so a webhook never spreads personal data further
than the key's scopes allow.
"""

from __future__ import annotations

from .apps import WELLBEING_ALERT


def wellbeing_alert(alert) -> dict:
    return {
        "id": alert.pk,
        "resident_id": alert.resident_id,
        "neighbourhood_id": alert.neighbourhood_id,
        "raised_at": alert.raised_at.isoformat() if alert.raised_at else None,
        "last_seen_at": alert.last_seen_at.isoformat() if alert.last_seen_at else None,
    }


def publish_wellbeing_alert(alert):
    """Publish ``wellbeing.alert`` for ``alert`` (inside the transaction that raised it)."""
    from .services import publish

    return publish(WELLBEING_ALERT, wellbeing_alert(alert), neighbourhood_id=alert.neighbourhood_id)


def publish_wellbeing_alerts(alerts):
    """:func:`publish_wellbeing_alert` for many alerts, in the queries of one."""
    from .services import publish_many

    items = [(wellbeing_alert(alert), alert.neighbourhood_id) for alert in alerts]
    return publish_many(WELLBEING_ALERT, items)
