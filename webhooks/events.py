"""The events a subscription may ask for, registered by the apps that emit them.

An app declares each event it publishes with :func:`register_event` in its
``AppConfig.ready()`` (this app declares ``wellbeing.alert`` for the registry, which
sits below it) and publishes with ``webhooks.services.publish``. A subscription may
only list registered events; publishing an unregistered one is a programming error.

This module is a registry, not an audit module: nothing here writes audit rows.
"""

from __future__ import annotations

import re

EVENT_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

# code -> label, in registration order
_EVENTS: dict[str, object] = {}


def register_event(code: str, label) -> str:
    """Declare the webhook event ``code`` (``object.action``); returns ``code``."""
    if not isinstance(code, str) or not EVENT_CODE.match(code):
        raise ValueError(f"webhook event {code!r} is not named object.action")
    _EVENTS[code] = label
    return code


def unregister_event(code: str) -> None:
    """Forget ``code`` (for tests that register a throwaway event)."""
    _EVENTS.pop(code, None)


def is_event(code) -> bool:
    return isinstance(code, str) and code in _EVENTS


def event_codes() -> list[str]:
    return list(_EVENTS)


def event_choices() -> list[tuple[str, object]]:
    return list(_EVENTS.items())
