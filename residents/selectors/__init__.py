"""Every read of the registry, already scoped to the user who asks.

Import from here: ``from residents.selectors import residents_visible_to``.
"""

from .registry import (
    access_household,
    access_resident,
    current_member_count,
    households_visible_to,
    residents_visible_to,
)

__all__ = [
    "access_household",
    "access_resident",
    "current_member_count",
    "households_visible_to",
    "residents_visible_to",
]
