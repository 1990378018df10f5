"""Writing audit events (core.models.AuditEvent).

Only an app's ``events.py`` calls :func:`record` (one function per audited event;
``tests/core/test_audit_discipline.py`` fails on any other caller). The rows are an
append-only record: nothing updates them afterwards - not even moving an estate or
a building to another place (``buildings.services.estate_move``), after which an
event keeps the neighbourhood it happened in - and nothing reads them back as
domain state. The one exception is the law's: anonymising a resident on request
(个人信息保护法) blanks the labels that named them (``residents.events.labels_anonymised``),
keeping who did what and when.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from .models import AuditEvent, AuditSubject
from .net import client_ip  # noqa: F401 - the views' import: the client behind trusted proxies

SUBJECT_BATCH = 5000

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


def actor_label(actor) -> str:
    """Who acted, for people: a user's name, or "API key <name> (<prefix>)" for a request
    made with an API key (``core.api.authentication.ApiKeyPrincipal``), which is no User."""
    if actor is None:
        return ""
    api_key = getattr(actor, "api_key", None)
    if api_key is not None:
        return f"API key {api_key.name} ({api_key.prefix})"[:100]
    return str(actor)[:100]


def record(
    *, actor, action: str, target=None, neighbourhood_id=None, ip: str | None = None, **params
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor),
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


def record_subjects(event: AuditEvent, *, model, ids) -> int:
    """Note the ``model`` rows (by id) one event was about, in bulk; returns how many.

    For an event that covers many people at once, such as a full-values export. Only
    an ``events.py`` calls it, right after :func:`record`.
    """
    target_type = ContentType.objects.get_for_model(model)
    rows = [AuditSubject(event=event, target_type=target_type, target_id=pk) for pk in ids]
    AuditSubject.objects.bulk_create(rows, batch_size=SUBJECT_BATCH)
    return len(rows)
