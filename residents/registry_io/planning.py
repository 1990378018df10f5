"""The plan: every row of a file checked against the registry, without writing.

:class:`Planner` reads every row (:mod:`.rows`), finds its dwelling and its person
(:mod:`.places`), its household and head (:mod:`.households`); each bad cell becomes
a :class:`~core.tables.flow.RowError` (row number, column, message), and each good
row is new, changed or unchanged, people being matched by the keyed hash of their
document number. A plan without errors can be applied (:mod:`.applying`).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from buildings.permissions import MANAGE
from core.scoping import scope_for
from core.tables.cells import cell_text
from core.tables.flow import RowError, TableOutcome
from core.tables.reading import Table

from ..models import Resident
from ..models.registry import phone_hash
from ..rules import IMPORT_FIELDS
from .applying import Applying
from .columns import RELATION_NAMES, canonical
from .households import HouseholdPlanning, PlannedHousehold
from .places import PlacePlanning
from .rows import PlannedRow, RowParsing

# How many new and changed rows the preview shows, and resident ids kept for the result page.
SAMPLE_SIZE = 20
RESULT_IDS = 200
PROGRESS_EVERY = 500  # rows checked between two progress reports


@dataclass
class ImportResult(TableOutcome):
    """What an import found (a dry run) or did, for the preview and result pages."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    households_created: int = 0
    created_samples: list[dict] = field(default_factory=list)
    updated_samples: list[dict] = field(default_factory=list)
    resident_ids: list[int] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.created or self.updated)


def _field_labels() -> dict[str, str]:
    labels = {name: str(Resident._meta.get_field(name).verbose_name) for name in IMPORT_FIELDS}
    labels.update(
        phone=str(pgettext("person", "phone")),
        care_tags=str(Resident._meta.get_field("care_tags").verbose_name),
        dwelling=str(_("dwelling (moves)")),
    )
    return labels


class Planner(RowParsing, PlacePlanning, HouseholdPlanning, Applying):
    """Checks a table against the registry as ``user`` may change it, then applies it."""

    def __init__(self, *, user, table: Table, today: datetime.date | None = None, progress=None):
        self.user = user
        self.table = table
        self.progress = progress  # progress(done=, total=): rows checked so far
        self.today = today or timezone.localdate()
        self.scope = scope_for(user, MANAGE)
        self.errors: list[RowError] = []
        self.rows: list[PlannedRow] = []
        self.households: list[PlannedHousehold] = []
        self.new_households: list[PlannedHousehold] = []
        self.tag_links: dict[int, dict[int, int]] = {}  # resident -> {tag id: link id}
        self.tag_names: dict[int, str] = {}

    # --- errors
    def error(self, row: PlannedRow, key: str, message: str, value=None) -> None:
        row.bad = True
        if value is None:
            value = self._cell(row, key)
        self.errors.append(
            RowError(
                row=row.number,
                column=self.table.header(key),
                letter=self.table.letter(key),
                value=cell_text(value)[:100],
                message=str(message),
            )
        )

    def _cell(self, row: PlannedRow, key: str):
        cells = self._cells.get(row.number, ())
        index = self.table.positions.get(key)
        return cells[index] if index is not None and index < len(cells) else None

    # --- the whole check
    def plan(self) -> Planner:
        self._cells = dict(self.table.rows)
        self._lookups()
        self.rows = self._parse_all()
        self._duplicates()
        self._places()
        self._existing()
        self._plan_households()
        self._plan_heads()
        self._diff()
        self.errors.sort(key=lambda error: (error.row, len(error.letter), error.letter))
        return self

    def _parse_all(self) -> list[PlannedRow]:
        if self.progress is None:
            return [self._parse(number, cells) for number, cells in self.table.rows]
        total, rows = len(self.table.rows), []
        for index, (number, cells) in enumerate(self.table.rows):
            if index % PROGRESS_EVERY == 0:
                self.progress(done=index, total=total)
            rows.append(self._parse(number, cells))
        self.progress(done=total, total=total)
        return rows

    # --- across rows
    def _duplicates(self) -> None:
        by_hash: dict[str, list[PlannedRow]] = defaultdict(list)
        for row in self.rows:
            if row.id_hash:
                by_hash[row.id_hash].append(row)
        for rows in by_hash.values():
            if len(rows) > 1:
                numbers = "、".join(str(r.number) for r in rows)
                for row in rows:
                    self.error(
                        row,
                        "id_number",
                        _("The same document number is on rows %(rows)s: one person, one row.")
                        % {"rows": numbers},
                    )

    def wanted(self, row: PlannedRow) -> dict:
        """The fields an existing resident's row sets (blank cells keep the stored value)."""
        values = {
            name: row.final_relation if name == "relation" else getattr(row, name)
            for name in IMPORT_FIELDS
        }
        return {key: value for key, value in values.items() if value is not None}

    def changed_fields(self, row: PlannedRow, get) -> list[str]:
        changed = [key for key, value in self.wanted(row).items() if get(key) != value]
        if row.phone is not None and get("phone_hash") != phone_hash(row.phone):
            changed.append("phone")
        return changed

    def _tags_change(self, row: PlannedRow) -> bool:
        if row.tags is None:
            return False
        return set(self.tag_links.get(row.resident_id, {})) != set(row.tags)

    def _diff(self) -> None:
        for row in self.rows:
            if row.existing is None or row.bad:
                continue
            row.changes = self.changed_fields(row, partial(getattr, row.existing))
            if self._tags_change(row):
                row.changes.append("care_tags")
            if row.move:
                row.changes.insert(0, "dwelling")

    # --- results
    def result(self, *, filename: str = "", saved: bool = False) -> ImportResult:
        result = ImportResult(
            filename=filename,
            kind=self.table.kind,
            rows=len(self.rows),
            errors=list(self.errors),
            ignored_columns=list(self.table.ignored),
            saved=saved,
        )
        if self.errors:
            return result
        labels = _field_labels()
        for row in self.rows:
            if row.is_new:
                result.created += 1
                if len(result.created_samples) < SAMPLE_SIZE:
                    result.created_samples.append(self._sample(row))
            elif row.changes:
                result.updated += 1
                if len(result.updated_samples) < SAMPLE_SIZE:
                    sample = self._sample(row)
                    sample["changes"] = [labels.get(c, c) for c in row.changes]
                    result.updated_samples.append(sample)
            else:
                result.unchanged += 1
            if saved and (row.is_new or row.changes) and len(result.resident_ids) < RESULT_IDS:
                result.resident_ids.append(row.resident_id)
        result.households_created = len(self.new_households)
        return result

    def _sample(self, row: PlannedRow) -> dict:
        return {
            "row": row.number,
            "name": row.name,
            "masked_id": row.masked_id,
            "place": " ".join(row.place_text or ()),
            "relation": canonical(
                RELATION_NAMES, row.final_relation or getattr(row.existing, "relation", None)
            ),
            "tags": "、".join(self.tag_names[pk] for pk in sorted(row.tags or ())),
        }
