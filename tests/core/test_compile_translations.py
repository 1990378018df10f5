"""manage.py compile_translations: .po -> .mo with Babel, no GNU gettext needed."""

import gettext
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

PO = r"""
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Language: zh_Hans\n"
"Plural-Forms: nplurals=1; plural=0;\n"

msgid "Neighbourhood"
msgstr "居民区"

msgid "%(count)d dwelling"
msgid_plural "%(count)d dwellings"
msgstr[0] "%(count)d 户"
msgstr[1] ""

msgid "%(count)d estate"
msgid_plural "%(count)d estates"
msgstr[0] ""
msgstr[1] ""

#, fuzzy
msgid "Estate"
msgstr "小区"
"""


def write_po(root, lang="zh_Hans", text=PO):
    directory = root / lang / "LC_MESSAGES"
    directory.mkdir(parents=True)
    po = directory / "django.po"
    po.write_text(text, encoding="utf-8")
    return po


def read_mo(po):
    with po.with_suffix(".mo").open("rb") as f:
        return gettext.GNUTranslations(f)


def test_compiles_po_files_in_the_given_directory(tmp_path):
    po = write_po(tmp_path)
    out = StringIO()
    call_command("compile_translations", str(tmp_path), stdout=out)
    catalogue = read_mo(po)
    assert catalogue.gettext("Neighbourhood") == "居民区"
    assert catalogue.ngettext("%(count)d dwelling", "%(count)d dwellings", 5) == "%(count)d 户"
    assert catalogue.gettext("Estate") == "Estate"  # fuzzy entries are left out
    # untranslated plurals fall back to the English msgid, not to ""
    assert catalogue.ngettext("%(count)d estate", "%(count)d estates", 2) == "%(count)d estates"
    assert "1" in out.getvalue()


def test_compiles_locale_paths_by_default(tmp_path):
    po = write_po(tmp_path, lang="en")
    with override_settings(LOCALE_PATHS=[tmp_path]):
        call_command("compile_translations", stdout=StringIO())
    assert po.with_suffix(".mo").exists()


def test_no_po_files_is_not_an_error(tmp_path):
    out = StringIO()
    call_command("compile_translations", str(tmp_path / "missing"), str(tmp_path), stdout=out)
    assert list(tmp_path.iterdir()) == []
    assert out.getvalue()


def test_a_broken_po_file_is_a_clear_error(tmp_path):
    write_po(tmp_path, text='msgid "a"\nmsgstr "b"\nmsgid\n')
    with pytest.raises(CommandError, match="django.po"):
        call_command("compile_translations", str(tmp_path), stdout=StringIO())
