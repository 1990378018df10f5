"""The API-key scopes: what a key may do, registered by the apps that own the endpoints.

A scope is named ``resource:action`` (``places:read``, ``residents:write``). ``core``
names none itself: each app declares the scopes of its endpoints in its
``AppConfig.ready()`` with :func:`register_api_scope`, and its API views name them
as ``read_scope`` / ``write_scope``. A key is only ever given registered scopes
(the admin form, the ``create_api_key`` command and ``core.services`` all ask
:func:`is_api_scope`), and a view naming an unregistered scope is a
misconfiguration (``HasScope`` refuses to guess).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SCOPE_CODE = re.compile(r"^[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*$")

# code -> label, in registration order (the order of INSTALLED_APPS: lowest app first)
_SCOPES: dict[str, object] = {}


def register_api_scope(code: str, label) -> str:
    """Declare the API-key scope ``code`` (``resource:action``) with a human ``label``.

    Returns ``code``, so that an app may keep it as a constant. Registering the same
    code again replaces its label and keeps its place in the order.
    """
    if not isinstance(code, str) or not SCOPE_CODE.match(code):
        raise ValueError(f"API scope {code!r} is not named resource:action (e.g. places:read)")
    _SCOPES[code] = label
    return code


def unregister_api_scope(code: str) -> None:
    """Forget ``code`` (for tests that register a throwaway scope)."""
    _SCOPES.pop(code, None)


def is_api_scope(code) -> bool:
    return isinstance(code, str) and code in _SCOPES


def api_scope_codes() -> list[str]:
    """Every registered scope code, in the canonical order."""
    return list(_SCOPES)


def api_scope_choices() -> list[tuple[str, object]]:
    """``[(code, label), ...]`` for a form's choices (call it: apps register late)."""
    return list(_SCOPES.items())


def unknown_scope_error(unknown) -> ValidationError:
    """The one translated answer to scopes nobody registered."""
    known = ", ".join(api_scope_codes()) or "-"
    return ValidationError(
        _("Unknown scope(s): %(unknown)s. Known scopes: %(known)s.")
        % {"unknown": ", ".join(unknown), "known": known},
        code="unknown_scope",
    )


def clean_api_scopes(scopes) -> list[str]:
    """The registered scopes among ``scopes``, deduplicated, in the canonical order.

    Raises ``ValidationError`` naming every unknown scope (nothing is dropped silently).
    An empty selection is returned as ``[]``; the caller decides whether that is allowed.
    """
    if isinstance(scopes, str):
        scopes = [scopes]
    wanted = {str(s).strip() for s in scopes or () if str(s).strip()}
    unknown = sorted(code for code in wanted if not is_api_scope(code))
    if unknown:
        raise unknown_scope_error(unknown)
    return [code for code in _SCOPES if code in wanted]
