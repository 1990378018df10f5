"""Only an app's ``events.py`` writes audit events.

Every other module calls a function of an ``events.py`` (one per audited event);
none imports or calls ``core.audit.record`` itself. The project's source is read
with ``ast`` - every ``.py`` file outside tests/, the virtualenv and migrations.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    "migrations",
    "node_modules",
    "static",
    "staticfiles",
    "tests",
    "var",
}
AUDIT_MODULE = "core.audit"
DEFINING_FILE = Path("core/audit.py")


def source_files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if SKIPPED_DIRS.intersection(relative.parts[:-1]):
            continue
        if relative != DEFINING_FILE:
            found.append(relative)
    return sorted(found)


def module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
    return ".".join([*base, node.module] if node.module else base)


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


# the functions of core.audit that write audit rows
WRITERS = ("record", "record_subjects")


def audit_record_uses(source: str, module: str, is_package: bool = False) -> list[str]:
    """Lines where ``source`` imports or calls a writer of ``core.audit`` (``WRITERS``)."""
    tree = ast.parse(source)
    found: list[str] = []
    record_names: set[str] = set()  # names bound to core.audit.record
    module_names: set[str] = set()  # names bound to the core.audit module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported_from = _absolute(node, module, is_package)
            for alias in node.names:
                if imported_from == AUDIT_MODULE and alias.name in (*WRITERS, "*"):
                    record_names.update(
                        [alias.asname or alias.name] if alias.name != "*" else WRITERS
                    )
                    found.append(f"line {node.lineno}: imports {AUDIT_MODULE}.{alias.name}")
                elif f"{imported_from}.{alias.name}" == AUDIT_MODULE:
                    module_names.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == AUDIT_MODULE:
                    module_names.add(alias.asname or AUDIT_MODULE)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in record_names:
            found.append(f"line {node.lineno}: calls {func.id}()")
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in WRITERS
            and _dotted(func.value) in module_names
        ):
            found.append(f"line {node.lineno}: calls {_dotted(func)}()")
    return found


def test_only_events_modules_write_audit_events():
    offenders = {}
    for relative in source_files():
        if relative.name == "events.py":
            continue
        uses = audit_record_uses(
            (ROOT / relative).read_text(encoding="utf-8"),
            module_name(relative),
            is_package=relative.name == "__init__.py",
        )
        if uses:
            offenders[str(relative)] = uses
    assert offenders == {}, "call an events.py function instead of core.audit.record"


def test_events_modules_are_where_record_is_called():
    callers = [
        relative
        for relative in source_files()
        if relative.name == "events.py"
        and audit_record_uses((ROOT / relative).read_text(encoding="utf-8"), module_name(relative))
    ]
    assert Path("residents/events.py") in callers
    assert Path("buildings/events.py") in callers


@pytest.mark.parametrize(
    "source, module",
    [
        ("from core.audit import record\nrecord(actor=None, action='x')", "residents.services.x"),
        ("from core.audit import record as write\nwrite(actor=None, action='x')", "a.b"),
        ("from core.audit import *\n", "a.b"),
        ("from core import audit\naudit.record(actor=None, action='x')", "a.b"),
        ("import core.audit\ncore.audit.record(actor=None, action='x')", "a.b"),
        ("import core.audit as log\nlog.record(actor=None, action='x')", "a.b"),
        ("from .audit import record\n", "core.services"),
        ("from . import audit\naudit.record(actor=None, action='x')", "core.services"),
        ("from ..audit import record\n", "core.api.views"),
        ("from core.audit import record_subjects\nrecord_subjects(None, [])", "a.b"),
        ("from core import audit\naudit.record_subjects(None, [])", "a.b"),
    ],
)
def test_the_scan_catches_every_way_of_reaching_record(source, module):
    assert audit_record_uses(source, module)


@pytest.mark.parametrize(
    "source, module",
    [
        ("from core.audit import client_ip\nclient_ip(None)", "residents.views.x"),
        ("from residents import events\nevents.record_something()", "a.b"),
        ("def record():\n    pass\nrecord()", "a.b"),
        ("from .audit import record\n", "residents.services"),  # residents.audit, not core's
    ],
)
def test_the_scan_leaves_other_code_alone(source, module):
    assert audit_record_uses(source, module) == []
