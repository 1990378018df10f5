"""Households: the rows of one dwelling form one household, with one head (户主).

:class:`HouseholdPlanning` is the part of the Planner that puts each row in a
household - the dwelling's current one, the person's own, or a new one - and settles
each household's head with the registry's one rule (``residents.rules.settle_head``),
reporting what the rule refuses on the row it concerns.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ..models import Household
from ..rules import (
    FORMER_HEAD_NEEDS_RELATION,
    HEAD_DEMOTED,
    HEAD_ELSEWHERE,
    SEVERAL_HEADS,
    Member,
    settle_head,
)
from .places import Place
from .rows import PlannedRow, chunks


@dataclass(eq=False)
class PlannedHousehold:
    pk: int | None  # None until a new household is inserted
    place: Place | None
    head_id: int | None = None
    moved_in: datetime.date | None = None
    moved_out: datetime.date | None = None
    rows: list = field(default_factory=list)
    leaving: set = field(default_factory=set)  # residents the file moves elsewhere
    head_row: object = None
    instance: Household | None = None


class HouseholdPlanning:
    """Households and heads (a part of the Planner: needs ``rows``, ``error``)."""

    def _plan_households(self) -> None:
        """The rows of one dwelling form one household: an existing one or a new one."""
        rows = [row for row in self.rows if row.place is not None and row.id_hash]
        dwelling_ids = sorted({row.place.pk for row in rows})
        households: dict[int, PlannedHousehold] = {}
        current: dict[int, list[PlannedHousehold]] = defaultdict(list)
        fields = ("pk", "dwelling_id", "head_id", "moved_in", "moved_out")
        for chunk in chunks(dwelling_ids):
            for pk, dwelling_id, head_id, moved_in, moved_out in (
                Household.objects.filter(dwelling_id__in=chunk, moved_out__isnull=True)
                .order_by("pk")
                .values_list(*fields)
            ):
                households[pk] = PlannedHousehold(pk, None, head_id, moved_in, moved_out)
                current[dwelling_id].append(households[pk])
        missing = sorted(
            {row.existing.household_id for row in rows if row.existing} - set(households)
        )
        for chunk in chunks(missing):
            for pk, _dwelling_id, head_id, moved_in, moved_out in Household.objects.filter(
                pk__in=chunk
            ).values_list(*fields):
                households[pk] = PlannedHousehold(pk, None, head_id, moved_in, moved_out)
        by_dwelling: dict[int, list[PlannedRow]] = defaultdict(list)
        for row in rows:
            by_dwelling[row.place.pk].append(row)
        for dwelling_id, members in by_dwelling.items():
            staying = [
                row for row in members if row.existing and row.existing.dwelling_id == dwelling_id
            ]
            target = next(
                (
                    households[row.existing.household_id]
                    for row in staying
                    if households[row.existing.household_id].moved_out is None
                ),
                None,
            )
            if target is None and current.get(dwelling_id):
                target = current[dwelling_id][0]
            if target is None:
                target = PlannedHousehold(None, members[0].place)
                self.new_households.append(target)
            for row in members:
                if row in staying:
                    row.household = households[row.existing.household_id]
                else:
                    row.household = target
                    if row.existing:
                        row.move = True
                        households[row.existing.household_id].leaving.add(row.resident_id)
                row.household.rows.append(row)
        self.households = list(households.values()) + self.new_households

    def _plan_heads(self) -> None:
        """One head (户主) per household; a blank relation never leaves a household headless."""
        for household in self.households:
            rows = household.rows
            if not rows:
                continue
            by_key = {self._member_key(row): row for row in rows}
            members = [
                Member(
                    key=self._member_key(row),
                    relation=row.relation,
                    joining=row.is_new or row.move,
                    stored=row.existing.relation if row.existing else None,
                )
                for row in rows
            ]
            head = household.head_id if household.head_id not in household.leaving else None
            decision = settle_head(head=head, members=members)
            for key, problem in decision.problems:
                self._head_problem(by_key[key], problem, decision, by_key)
            if any(problem == SEVERAL_HEADS for _key, problem in decision.problems):
                continue
            household.head_row = by_key.get(decision.chosen)
            for row in rows:
                row.final_relation = decision.relations.get(self._member_key(row))

    @staticmethod
    def _member_key(row: PlannedRow):
        return row.resident_id if row.resident_id is not None else row

    def _head_problem(self, row: PlannedRow, problem: str, decision, by_key) -> None:
        if problem == SEVERAL_HEADS:
            numbers = "、".join(
                str(other.number)
                for key, code in decision.problems
                if code == SEVERAL_HEADS
                for other in (by_key[key],)
            )
            message = _("Rows %(rows)s of the same dwelling are all 户主 (head of household).") % {
                "rows": numbers
            }
        elif problem == HEAD_DEMOTED:
            message = _(
                "This person is the head of the household (户主). To change that, "
                "mark another member of the same dwelling as 户主."
            )
        elif problem == HEAD_ELSEWHERE:
            message = _(
                "The household in this dwelling already has a head (户主) who is "
                "not in this file: mark one head only, or list the current head "
                "too, with their new relation."
            )
        elif problem == FORMER_HEAD_NEEDS_RELATION:
            message = _(
                "Row %(row)s makes someone else 户主: give this person (the "
                "current head) their new relation."
            ) % {"row": by_key[decision.chosen].number}
        else:  # pragma: no cover - settle_head names no other problem
            raise ValueError(problem)
        self.error(row, "relation", message)
