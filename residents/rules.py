"""Registry rules that several writers apply, stated once.

The services (``residents.services.registry``), the admin form, the API and the
bulk importer (``residents.registry_io``) all read these; none keeps its own copy.

* :data:`RESIDENT_FIELDS` - the resident fields a caller sets as they are;
* :func:`settle_head` - who heads a household (户主) and what relation its members end
  with, when members join it or ask for a relation. Pure: ids in, a decision out.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from .models import Relation

# Resident fields set as they are by resident_create / resident_update (identifiers,
# phone and care tags have arguments of their own: they are normalised and encrypted).
RESIDENT_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "relation",
    "residence_status",
    "nationality",
    "lives_alone",
    "moved_in",
    "moved_out",
    "notes",
)
# What a registry file sets: every one of them but the committee's notes (no column).
IMPORT_FIELDS = tuple(name for name in RESIDENT_FIELDS if name != "notes")


# --- the head of a household ----------------------------------------------------------------

# Problems settle_head finds, each on one member.
SEVERAL_HEADS = "several_heads"  # more than one member asks to be 户主
HEAD_DEMOTED = "head_demoted"  # the head asks for another relation, nobody takes over
HEAD_ELSEWHERE = "head_elsewhere"  # asks to be 户主, but the head (not listed) stays
FORMER_HEAD_NEEDS_RELATION = "former_head_needs_relation"  # someone takes over; the head
# is listed without a new relation


@dataclass(frozen=True)
class Member:
    """A member of a household as a change lists them."""

    key: Hashable  # a resident id, or any key for someone not yet saved
    relation: str | None  # the relation asked for; None: not given
    joining: bool = False  # new in this household (created, or moving in)
    stored: str | None = None  # the relation held now (None for someone new)


@dataclass(frozen=True)
class Headship:
    head: Hashable | None  # the household's head afterwards
    chosen: Hashable | None  # the listed member who is head afterwards, if any
    relations: dict  # member key -> relation afterwards (members whose relation is set)
    problems: tuple[tuple[Hashable, str], ...]  # (member key, problem)


def settle_head(*, head: Hashable | None, members: Sequence[Member]) -> Headship:
    """The rule: one head per household, and the head's relation is 户主.

    ``head`` is the household's current head (None: none, or leaving). A member who
    asks for 户主 becomes head; then the current head, if listed, must ask for another
    relation, and if not listed the change is refused. A household without a head
    takes its first member who holds 户主 already, else the first one joining, among
    those who ask for no relation. A joining member who asks for nothing gets "other".
    """
    explicit = [member for member in members if member.relation == Relation.HEAD]
    if len(explicit) > 1:
        problems = tuple((member.key, SEVERAL_HEADS) for member in explicit)
        return Headship(head=head, chosen=None, relations={}, problems=problems)
    current = next((m for m in members if head is not None and m.key == head), None)
    chosen = explicit[0] if explicit else None
    problems = []
    if chosen is None and head is None:
        blank = [member for member in members if member.relation is None]
        chosen = next((m for m in blank if m.stored == Relation.HEAD), None) or next(
            (m for m in blank if m.joining), None
        )
    elif chosen is None:
        if current is not None and current.relation not in (None, Relation.HEAD):
            problems.append((current.key, HEAD_DEMOTED))
    elif head is not None and chosen.key != head:
        if current is None:
            problems.append((chosen.key, HEAD_ELSEWHERE))
        elif current.relation is None:
            problems.append((current.key, FORMER_HEAD_NEEDS_RELATION))
    relations = {}
    for member in members:
        if member.relation is not None:
            relations[member.key] = member.relation
        elif member is chosen:
            relations[member.key] = Relation.HEAD
        elif member.joining:
            relations[member.key] = Relation.OTHER
    return Headship(
        head=chosen.key if chosen is not None else head,
        chosen=chosen.key if chosen is not None else None,
        relations=relations,
        problems=tuple(problems),
    )
