"""Applying a plan: bulk writes instead of one service call per row.

``resident_create`` costs about ten queries per person (uniqueness, place ids,
history); 100,000 rows would take the best part of an hour. :class:`Applying` writes
with ``bulk_create`` / ``bulk_update`` in batches of ``BATCH``, keeping every rule in
its one place:

* identifiers go through ``Resident.set_identifier`` / ``set_phone`` (encryption,
  keyed hash, last 4), and each new or changed row through ``Model.clean_fields`` as
  the services' ``full_clean`` does; the uniqueness of document numbers was checked
  for the whole file at once (the database's unique constraint still guards a
  concurrent insert);
* what ``Resident.save()`` derives (pinyin, initials and grams of the name, the place ids
  copied from the dwelling) comes from the same function (``core.text.name_search_keys``)
  and the dwelling rows already fetched;
* who heads each household was settled by ``residents.rules.settle_head``, the rule the
  services apply;
* history is kept: simple-history's ``bulk_create_with_history`` and
  ``bulk_update_with_history`` write one history record per created or changed
  resident or household, by the importing user;
* the rare person who moved to another dwelling goes through ``resident_move``, one
  call each, so moving keeps the past exactly as everywhere else.
"""

from __future__ import annotations

from collections import Counter

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from buildings.placebound import PLACE_FIELDS
from core.tables.flow import RowError

from .. import events
from ..models import Household, Relation, ResidenceStatus, Resident, Tenure
from ..services import resident_move
from .columns import COLUMN_BY_KEY
from .rows import BATCH, PlannedRow, chunks, search_keys

PHONE_FIELDS = ("phone_encrypted", "phone_hash", "phone_head", "phone_last4")
CLEAN_EXCLUDE = ("household", "dwelling", *PLACE_FIELDS, "user")


class ApplyFailed(Exception):
    def __init__(self, errors):
        super().__init__("rows failed while saving")
        self.errors = errors


class Applying:
    """Writing (a part of the Planner: needs a plan without errors)."""

    def apply(self, *, filename: str = "", ip: str | None = None) -> None:
        """Write the plan (no bad row allowed). Call inside ``transaction.atomic``."""
        assert not self.errors, "a plan with errors is never applied"
        now = timezone.now()
        user = self.user if getattr(self.user, "pk", None) else None
        self._insert_households(user)
        self._moves()
        # Changes before inserts, and within the changes those who stop being head of
        # household first: a household never holds two heads, not even between two
        # statements (the database refuses it; PostgreSQL checks a unique index row by
        # row).
        self._update_residents(user, now)
        self._insert_residents(user)
        self._write_tags()
        self._set_heads(user, now)
        self._audit(filename=filename, ip=ip)

    def _insert_households(self, user) -> None:
        instances = []
        for household in self.new_households:
            dated = [row.moved_in for row in household.rows if row.moved_in]
            head = household.head_row or household.rows[0]
            place = household.place
            instance = Household(
                dwelling_id=place.pk,
                building_id=place.building_id,
                estate_id=place.estate_id,
                neighbourhood_id=place.neighbourhood_id,
                tenure=Tenure.TENANT
                if head.residence_status == ResidenceStatus.RENTING
                else Tenure.OWNER,
                moved_in=min(dated) if dated else None,
            )
            instance.clean_fields(exclude=["dwelling", "head", *PLACE_FIELDS])
            household.instance = instance
            household.moved_in = instance.moved_in
            instances.append(instance)
        # Their history records are written by _set_heads, once they have their head.
        Household.objects.bulk_create(instances, batch_size=BATCH)
        for household in self.new_households:
            household.pk = household.instance.pk

    def _moves(self) -> None:
        movers = [row for row in self.rows if row.move]
        if not movers:
            return
        residents = Resident.objects.in_bulk([row.resident_id for row in movers])
        targets = Household.objects.in_bulk(sorted({row.household.pk for row in movers}))
        failures = []
        for row in movers:
            try:
                resident_move(
                    resident=residents[row.resident_id],
                    household=targets[row.household.pk],
                    moved_on=row.moved_in or self.today,
                    by=self.user,
                )
            except ValidationError as exc:
                failures.extend(self._failure(row, exc))
        if failures:
            raise ApplyFailed(failures)

    def _insert_residents(self, user) -> None:
        """New residents, a batch at a time (instances are dropped once inserted)."""
        through = Resident.care_tags.through
        failures = []
        for chunk in chunks([row for row in self.rows if row.is_new]):
            residents = []
            for row in chunk:
                resident = self._new_resident(row)
                try:
                    resident.clean_fields(exclude=CLEAN_EXCLUDE)
                except ValidationError as exc:
                    failures.extend(self._failure(row, exc))
                residents.append(resident)
            if failures:  # keep checking the other rows, write nothing more
                continue
            bulk_create_with_history(residents, Resident, batch_size=BATCH, default_user=user)
            links = []
            for row, resident in zip(chunk, residents, strict=True):
                row.resident_id = resident.pk
                links.extend(
                    through(resident_id=resident.pk, caretag_id=pk) for pk in sorted(row.tags or ())
                )
            if links:
                through.objects.bulk_create(links, batch_size=BATCH)
        if failures:
            raise ApplyFailed(failures)

    def _new_resident(self, row: PlannedRow) -> Resident:
        """An unsaved resident as ``resident_create`` would store it (see the module doc)."""
        household, place = row.household, row.place
        resident = Resident(
            household_id=household.pk,
            dwelling_id=place.pk,
            building_id=place.building_id,
            estate_id=place.estate_id,
            neighbourhood_id=place.neighbourhood_id,
            name=row.name,
            gender=row.gender or "",
            birth_date=row.birth_date,
            relation=row.final_relation or Relation.OTHER,
            residence_status=row.residence_status or ResidenceStatus.REGISTERED,
            nationality=(row.nationality or "CN").upper(),
            lives_alone=bool(row.lives_alone),
            moved_in=row.moved_in or household.moved_in,
            moved_out=row.moved_out,
        )
        resident.set_search_keys(search_keys(row.name))
        resident.set_identifier(row.id_type, row.id_number)
        resident.set_phone(row.phone or "")
        return resident

    def _update_residents(self, user, now) -> None:
        rows = [row for row in self.rows if row.existing and row.changes]
        becoming_head = [row for row in rows if row.final_relation == Relation.HEAD]
        others = [row for row in rows if row.final_relation != Relation.HEAD]
        self._update_rows(others, user, now)
        self._update_rows(becoming_head, user, now)

    def _update_rows(self, rows: list[PlannedRow], user, now) -> None:
        failures = []
        for chunk in chunks(rows):
            instances = Resident.objects.in_bulk([row.resident_id for row in chunk])
            changed_objects, fields = [], set()
            for row in chunk:
                resident = instances[row.resident_id]
                changed = self.changed_fields(row, lambda key, r=resident: getattr(r, key))
                if not changed:
                    continue
                for key in changed:
                    if key == "phone":
                        resident.set_phone(row.phone)
                        fields.update(PHONE_FIELDS)
                    else:
                        setattr(resident, key, self.wanted(row)[key])
                        fields.add(key)
                if "name" in changed:
                    resident.set_search_keys(search_keys(resident.name))
                    fields.update(Resident.SEARCH_KEY_FIELDS)
                resident.updated_at = now
                try:
                    resident.clean_fields(exclude=CLEAN_EXCLUDE)
                except ValidationError as exc:
                    failures.extend(self._failure(row, exc))
                    continue
                changed_objects.append(resident)
            if failures:
                raise ApplyFailed(failures)
            if changed_objects:
                bulk_update_with_history(
                    changed_objects,
                    Resident,
                    sorted(fields | {"updated_at"}),
                    batch_size=BATCH,
                    default_user=user,
                )

    def _write_tags(self) -> None:
        """Care tags of existing residents: add the missing links, remove the others."""
        through = Resident.care_tags.through
        links, stale = [], []
        for row in self.rows:
            if row.existing is None or row.tags is None:
                continue
            current = self.tag_links.get(row.resident_id, {})
            links.extend(
                through(resident_id=row.resident_id, caretag_id=pk)
                for pk in sorted(set(row.tags) - set(current))
            )
            stale.extend(link for pk, link in current.items() if pk not in row.tags)
        for chunk in chunks(stale):
            through.objects.filter(pk__in=chunk).delete()
        if links:
            through.objects.bulk_create(links, batch_size=BATCH)

    def _set_heads(self, user, now) -> None:
        """Each household the file touches gets its planned head (moves may have changed it).

        A new household's head is its one member whose relation is 户主 (the plan makes
        sure there is at most one): one UPDATE per batch, then its history record is
        written with the head. A changed head of an existing household is a bulk update
        with a history record each.
        """
        planned: dict[int, int | None] = {}
        for household in self.households:
            if not household.rows:
                continue
            if household.head_row is not None:
                planned[household.pk] = household.head_row.resident_id
            elif household.head_id not in household.leaving:
                planned[household.pk] = household.head_id
            else:
                planned[household.pk] = None
        heads = Resident.objects.filter(
            household_id=OuterRef("pk"), relation=Relation.HEAD
        ).order_by("pk")
        for chunk in chunks(self.new_households):
            Household.objects.filter(pk__in=[h.pk for h in chunk]).update(
                head_id=Subquery(heads.values("pk")[:1])
            )
            for household in chunk:
                household.instance.head_id = planned.get(household.pk)
            Household.history.bulk_history_create(
                [household.instance for household in chunk],
                batch_size=BATCH,
                default_user=user,
            )
        new_ids = {household.pk for household in self.new_households}
        changed = []
        for chunk in chunks(sorted(pk for pk in planned if pk not in new_ids)):
            for instance in Household.objects.filter(pk__in=chunk):
                if instance.head_id != planned[instance.pk]:
                    instance.head_id = planned[instance.pk]
                    instance.updated_at = now
                    changed.append(instance)
        if changed:
            bulk_update_with_history(
                changed, Household, ["head", "updated_at"], batch_size=BATCH, default_user=user
            )

    def _audit(self, *, filename: str, ip: str | None) -> None:
        created, updated = Counter(), Counter()
        for row in self.rows:
            if row.is_new:
                created[row.place.neighbourhood_id] += 1
            elif row.changes:
                updated[row.place.neighbourhood_id] += 1
        for neighbourhood_id in sorted(set(created) | set(updated)):
            events.registry_imported(
                actor=self.user,
                neighbourhood_id=neighbourhood_id,
                rows=len(self.rows),
                created=created[neighbourhood_id],
                updated=updated[neighbourhood_id],
                filename=filename[:200],
                ip=ip,
            )

    def _failure(self, row: PlannedRow, exc: ValidationError) -> list[RowError]:
        errors = []
        found = exc.message_dict if hasattr(exc, "error_dict") else {"household": exc.messages}
        for key, messages in found.items():
            key = {"moved_on": "moved_in", "household": "room", "dwelling": "room"}.get(key, key)
            column = key if key in COLUMN_BY_KEY else "name"
            errors.append(
                RowError(
                    row=row.number,
                    column=self.table.header(column),
                    letter=self.table.letter(column),
                    value="",
                    message=" ".join(messages),
                )
            )
        return errors
