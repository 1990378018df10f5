"""Writes about people that carry a rule, one module per concern.

Import from here: ``from residents.services import role_grant, resident_create``.
"""

from .registry import (
    household_create,
    household_move,
    household_set_head,
    resident_add_tags,
    resident_anonymise,
    resident_create,
    resident_mark_moved_out,
    resident_move,
    resident_reveal_identity,
    resident_update,
)
from .roles import role_grant, role_grant_check, role_revoke

__all__ = [
    "household_create",
    "household_move",
    "household_set_head",
    "resident_add_tags",
    "resident_anonymise",
    "resident_create",
    "resident_mark_moved_out",
    "resident_move",
    "resident_reveal_identity",
    "resident_update",
    "role_grant",
    "role_grant_check",
    "role_revoke",
]
