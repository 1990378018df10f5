"""Importing a registry file: check (a dry run), then save all of it or nothing.

:func:`plan_import` reads every row and checks it against the registry without
writing. :func:`import_registry` with ``dry_run=False`` plans again (the registry may
have changed since the preview) and, only when no row is bad, writes everything in
one transaction. Importing the same file again writes nothing: no row, no history
record. A blank cell leaves what the registry holds unchanged (a new resident gets
the default), so a file with fewer columns never wipes data; a masked phone
(``138****1234``, as a masked export shows it) counts as blank.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from buildings.permissions import MANAGE
from core.scoping import scope_for
from core.tables.reading import TableFileError

from .applying import ApplyFailed
from .columns import read_registry_table
from .planning import ImportResult, Planner


def plan_import(*, user, data: bytes, filename: str = "") -> ImportResult:
    """A dry run: what importing ``data`` would do, and every bad row. Writes nothing."""
    return import_registry(user=user, data=data, filename=filename, dry_run=True)


def save_import(*, user, data: bytes, filename: str = "", ip: str | None = None) -> ImportResult:
    """Save a file (all of it, or nothing if a row is bad)."""
    return import_registry(user=user, data=data, filename=filename, dry_run=False, ip=ip)


def import_registry(
    *, user, data: bytes, filename: str = "", dry_run: bool = True, ip: str | None = None
) -> ImportResult:
    """Check a file and, unless ``dry_run``, save it - all of it, or nothing if a row is bad."""
    if scope_for(user, MANAGE).is_empty:
        raise PermissionDenied(_("Only the residents' committee imports residents."))
    try:
        table = read_registry_table(data)
    except TableFileError as exc:
        return ImportResult(filename=filename, file_error=str(exc))
    if dry_run:
        return Planner(user=user, table=table).plan().result(filename=filename)
    try:
        with transaction.atomic():
            planner = Planner(user=user, table=table).plan()
            if planner.errors:
                return planner.result(filename=filename)
            planner.apply(filename=filename, ip=ip)
    except ApplyFailed as exc:
        result = planner.result(filename=filename)
        result.errors = exc.errors
        return result
    except IntegrityError:
        return ImportResult(
            filename=filename,
            kind=table.kind,
            rows=len(table.rows),
            file_error=_(
                "The registry changed while this file was being saved (someone registered "
                "one of these people meanwhile). Nothing was saved: check the file again."
            ),
        )
    return planner.result(filename=filename, saved=True)


def import_summary(result: ImportResult) -> dict:
    """What the done page shows of a saved import (kept in the session)."""
    return {
        "filename": result.filename,
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "households_created": result.households_created,
        "resident_ids": result.resident_ids,
    }
