"""``manage.py compile_translations [DIR ...]``: compile .po catalogues to .mo with Babel.

Django's ``compilemessages`` needs GNU gettext's ``msgfmt``; this command needs
only Python, so ``make run`` works on a machine with nothing but Python and
make. It compiles every ``<locale dir>/<lang>/LC_MESSAGES/*.po`` found in
LOCALE_PATHS and in the ``locale`` directory of each project app (third-party
apps ship their own .mo files), or in the directories given. Fuzzy entries are
left out, as msgfmt does. Finding no .po file at all is not an error.
"""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, PoFileParser
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext


def locale_dirs() -> list[Path]:
    """LOCALE_PATHS plus the ``locale`` directories of the project's own apps."""
    base = Path(settings.BASE_DIR).resolve()
    dirs = [Path(p) for p in settings.LOCALE_PATHS]
    for app_config in apps.get_app_configs():
        path = Path(app_config.path).resolve()
        if path.is_relative_to(base) and "site-packages" not in path.parts:
            dirs.append(path / "locale")
    unique = []
    for d in dirs:
        if d.resolve() not in {u.resolve() for u in unique}:
            unique.append(d)
    return unique


def po_files(dirs) -> list[Path]:
    found = []
    for d in dirs:
        if Path(d).is_dir():
            found.extend(sorted(Path(d).glob("*/LC_MESSAGES/*.po")))
    return found


class _StrictParser(PoFileParser):
    """Any malformed entry is an error, except surplus plural forms.

    ``makemessages`` writes ``msgstr[0]`` and ``msgstr[1]`` for every plural
    entry even when the header says ``nplurals=1`` (Chinese); msgfmt accepts
    that and so do we: the surplus forms are dropped.
    """

    def _invalid_pofile(self, line, lineno, msg) -> None:
        if msg.startswith("msg has more translations than num_plurals"):
            return
        raise PoFileError(msg, self.catalog, line, lineno)


def compile_po(po_path: Path) -> Path:
    """Write ``<name>.mo`` next to ``po_path``; returns its path."""
    catalog = Catalog()
    with po_path.open("rb") as po:
        _StrictParser(catalog, ignore_obsolete=True, abort_invalid=True).parse(po)
    # As msgfmt does, leave untranslated plural entries out, so that gettext falls
    # back to the source text by count (Babel would write the singular msgid instead).
    for message in list(catalog)[1:]:
        if message.pluralizable and not any(message.string):
            catalog.delete(message.id, context=message.context)
    mo_path = po_path.with_suffix(".mo")
    tmp_path = mo_path.with_suffix(".mo.tmp")
    with tmp_path.open("wb") as mo:
        write_mo(mo, catalog, use_fuzzy=False)
    tmp_path.replace(mo_path)  # atomic: a running server never reads half a file
    return mo_path


class Command(BaseCommand):
    help = gettext_lazy("Compile the .po translation catalogues to .mo files (no gettext needed).")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "dirs",
            nargs="*",
            help=gettext_lazy("Locale directories to search (default: LOCALE_PATHS and apps)."),
        )

    def handle(self, *args, **options):
        dirs = [Path(d) for d in options["dirs"]] or locale_dirs()
        files = po_files(dirs)
        if not files:
            self.stdout.write(_("No translation catalogues (.po) found; nothing to compile."))
            return
        for po_path in files:
            try:
                mo_path = compile_po(po_path)
            except (PoFileError, OSError, ValueError) as exc:
                raise CommandError(
                    _("Cannot compile %(file)s: %(error)s") % {"file": po_path, "error": exc}
                ) from exc
            if options["verbosity"] >= 2:
                self.stdout.write(_("Compiled %(file)s") % {"file": mo_path})
        self.stdout.write(
            ngettext(
                "Compiled %(count)d translation catalogue.",
                "Compiled %(count)d translation catalogues.",
                len(files),
            )
            % {"count": len(files)}
        )
