"""Writing audit events (core.models.AuditEvent).

Only an app's ``events.py`` calls :func:`record` (one function per audited event;
``tests/core/test_audit_discipline.py`` fails on any other caller). The rows are an
append-only record: nothing updates them afterwards - not even moving an estate or
a building to another place (``buildings.services.estate_move``), after which an
event keeps the neighbourhood it happened in - and nothing reads them back as
domain state.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from .models import AuditEvent

# action code -> translated label, filled by each app's events.py (register_actions)
_ACTION_LABELS: dict[str, object] = {}


def register_actions(labels: dict[str, object]) -> None:
    """Declare an app's audit actions with their human labels (lazy translations).

    Each ``events.py`` calls this once, at import; the app's ``ready()`` imports its
    ``events`` module, so the labels are known before any page shows the log.
    """
    _ACTION_LABELS.update(labels)


def action_label(code: str) -> str:
    """The label of an action for people, or the code itself if no app declared it."""
    return str(_ACTION_LABELS.get(code, code))


def client_ip(request) -> str | None:
    """The client's address as the outermost trusted proxy saw it (REMOTE_ADDR)."""
    return request.META.get("REMOTE_ADDR") if request is not None else None


def record(
    *, actor, action: str, target=None, neighbourhood_id=None, ip: str | None = None, **params
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=str(actor)[:100] if actor is not None else "",
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=getattr(target, "pk", None),
        target_label=str(target)[:200] if target is not None else "",
        neighbourhood_id=neighbourhood_id
        if neighbourhood_id is not None
        else getattr(target, "neighbourhood_id", None),
        ip_address=ip,
        params=params,
    )
