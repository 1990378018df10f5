"""The Simplified Chinese catalogue: complete, well-formed, current and in use.

Code uses English msgids; locale/zh_Hans/LC_MESSAGES/django.po holds the Chinese.
``make messages`` refreshes the catalogue after code changes (then translate the
new entries); ``make translations`` compiles it.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.template import engines
from django.test import override_settings
from django.utils import translation
from django.utils.functional import Promise

from accounts.models import Role
from buildings.models import Building, Dwelling, Elevator, ElevatorInspection, Estate, Neighbourhood

ROOT = Path(settings.BASE_DIR)
LOCALE_DIR = ROOT / "locale"
CATALOGUE_DIR = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES"
PO_FILES = sorted(CATALOGUE_DIR.glob("*.po"))

# Keep in step with the Makefile's `messages` target.
MAKEMESSAGES_IGNORE = (".venv", "var", "staticfiles", "tests", "bench")

# %(name)s, %(seconds).1f, %s, %d … (not %%); {name}, {0}, {} (not {{ }}).
PYTHON_FORMAT = re.compile(
    r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]"
)
BRACE_FORMAT = re.compile(r"(?<!\{)\{[^{}]*\}(?!\})")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
CJK = re.compile(r"[\u4e00-\u9fff]")


def read_catalogue(path):
    with open(path, "rb") as f:
        return read_po(f, ignore_obsolete=False, abort_invalid=True)


def entries(catalogue):
    return [message for message in catalogue if message.id]


def as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def placeholders(text, flags):
    found = []
    if "python-format" in flags:
        found += [p for p in PYTHON_FORMAT.findall(text) if p != "%%"]
    found += BRACE_FORMAT.findall(text)  # xgettext does not always flag python-brace-format
    return sorted(found)


def problems(message: Message) -> list[str]:
    """What is wrong with one translated entry (empty when it is fine)."""
    found = []
    ids = as_tuple(message.id)
    strings = as_tuple(message.string)
    if message.fuzzy:
        found.append("fuzzy")
    if not all(strings):
        found.append("untranslated")
    # Chinese has one plural form; it must carry the placeholders of the plural msgid.
    expected = placeholders(ids[-1], message.flags)
    expected_tags = sorted(HTML_TAG.findall(ids[-1]))
    for string in strings:
        if not string:
            continue
        got = placeholders(string, message.flags)
        if got != expected:
            found.append(f"placeholders {got} != {expected}")
        tags = sorted(HTML_TAG.findall(string))
        if tags != expected_tags:
            found.append(f"HTML {tags} != {expected_tags}")
    return found


def message_keys(path):
    if not path.exists():
        return set()
    catalogue = read_catalogue(path)
    return {(m.context, m.id) for m in entries(catalogue)}


# --- (a) the catalogue is complete and well-formed -------------------------------------------


def test_there_is_a_django_catalogue():
    assert CATALOGUE_DIR / "django.po" in PO_FILES


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: p.name)
def test_header(path):
    catalogue = read_catalogue(path)
    assert not catalogue.fuzzy
    assert str(catalogue.locale) == "zh_Hans"
    assert f"{catalogue.project} {catalogue.version}".strip().startswith("Linli")
    assert catalogue.charset.upper() == "UTF-8"
    headers = dict(catalogue.mime_headers)
    assert headers["Language"] == "zh_Hans"
    assert headers["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: p.name)
def test_every_entry_is_translated_and_keeps_its_placeholders(path):
    catalogue = read_catalogue(path)
    bad = {m.id: found for m in entries(catalogue) if (found := problems(m))}
    assert not bad, f"{path.name}: fix these entries: {bad}"
    assert not catalogue.obsolete, f"{path.name}: remove the obsolete (#~) entries"
    assert len(entries(catalogue)) > 100


@pytest.mark.parametrize(
    "msgid, msgstr, flags, expected",
    [
        ("Hello, %(name)s", "%(name)s，您好", {"python-format"}, []),
        ("Hello, %(name)s", "您好", {"python-format"}, ["placeholders"]),
        ("Hello, %(name)s", "%(nom)s，您好", {"python-format"}, ["placeholders"]),
        ("Ready in %(s).1f s.", "用时 %(s)d 秒。", {"python-format"}, ["placeholders"]),
        ("100%% of %s", "%s 的 100%%", {"python-format"}, []),
        ("Hi {name}", "{name}，你好", {"python-brace-format"}, []),
        ("Hi {name}", "你好", {"python-brace-format"}, ["placeholders"]),
        ("Read <a href='/x'>this</a>", "阅读<a href='/x'>此文</a>", set(), []),
        ("Read <strong>this</strong>", "阅读此文", set(), ["HTML"]),
        ("Save", "", set(), ["untranslated"]),
    ],
)
def test_the_entry_checker_catches_mistakes(msgid, msgstr, flags, expected):
    found = problems(Message(msgid, msgstr, flags=flags))
    assert len(found) == len(expected)
    assert all(problem.startswith(kind) for problem, kind in zip(found, expected, strict=True))


def test_the_entry_checker_checks_plurals_against_the_plural_msgid():
    ok = Message(("%(n)d day", "%(n)d days"), ("%(n)d 天",), flags={"python-format"})
    fuzzy = Message(("%(n)d day", "%(n)d days"), ("%(n)d 天",), flags={"python-format", "fuzzy"})
    empty = Message(("one day", "%(n)d days"), ("",), flags={"python-format"})
    assert problems(ok) == []
    assert problems(fuzzy) == ["fuzzy"]
    assert problems(empty) == ["untranslated"]


# --- (b) the catalogue has every msgid the code uses, and no other ----------------------------


def _copy_sources(destination: Path):
    """Copy the project (sources and catalogue, not the ignored folders) to ``destination``."""

    def ignore(directory, names):
        top = Path(directory).resolve() == ROOT.resolve()
        return {
            name
            for name in names
            if name == "__pycache__"
            or name.endswith((".mo", ".pyc"))
            or (top and (name.startswith(".") or name in MAKEMESSAGES_IGNORE))
        }

    shutil.copytree(ROOT, destination, ignore=ignore, symlinks=True)


@pytest.mark.skipif(
    not (shutil.which("xgettext") and shutil.which("msgmerge")),
    reason="GNU gettext (xgettext, msgmerge) is not installed",
)
def test_the_catalogue_matches_the_code(tmp_path):
    """makemessages on a copy of the project: no new (untranslated) and no stale msgid.

    The copy keeps the real catalogue untouched, whatever makemessages does.
    """
    copy = tmp_path / "linli"
    _copy_sources(copy)
    before = {p: p.read_bytes() for p in LOCALE_DIR.rglob("*.po")}
    env = {
        **os.environ,
        "PYTHONPATH": str(copy),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    ignores = [f"--ignore={name}" for name in MAKEMESSAGES_IGNORE]
    for domain in ("django", "djangojs"):
        subprocess.run(  # noqa: S603 - our interpreter, our arguments
            [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "-d", domain]
            + ignores,
            cwd=copy,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    assert {p: p.read_bytes() for p in LOCALE_DIR.rglob("*.po")} == before

    for domain in ("django", "djangojs"):
        relative = Path("locale/zh_Hans/LC_MESSAGES") / f"{domain}.po"
        in_code = message_keys(copy / relative)
        in_catalogue = message_keys(ROOT / relative)
        new = sorted(str(msgid) for _ctx, msgid in in_code - in_catalogue)
        stale = sorted(str(msgid) for _ctx, msgid in in_catalogue - in_code)
        assert not new, f"{domain}: run `make messages` and translate these new msgids: {new}"
        assert not stale, f"{domain}: run `make messages`; these msgids are no longer used: {stale}"


# --- (c) the compiled catalogue is what Django shows ------------------------------------------


@pytest.fixture(scope="session")
def compiled_catalogues():
    """Compile the .po files when their .mo is missing or older (``make test`` compiles first)."""
    stale = [
        po
        for po in PO_FILES
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        call_command("compile_translations", str(LOCALE_DIR), verbosity=0)
        # Changing LOCALE_PATHS (even to the same value) makes Django reload its catalogues.
        with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
            pass
    return LOCALE_DIR


@pytest.mark.parametrize(
    "model, english, chinese",
    [
        (Neighbourhood, "neighbourhood", "居民区"),
        (Estate, "estate", "小区"),
        (Building, "building", "楼栋"),
        (Dwelling, "dwelling", "房屋"),
        (Elevator, "elevator", "电梯"),
        (ElevatorInspection, "elevator inspection", "电梯年检记录"),
    ],
)
def test_model_names(compiled_catalogues, model, english, chinese):
    with translation.override("zh-hans"):
        assert str(model._meta.verbose_name) == chinese
    with translation.override("en"):
        assert str(model._meta.verbose_name) == english


def test_every_model_and_field_name_of_ours_reads_in_chinese(compiled_catalogues):
    """What the admin shows: no English verbose name left among our apps' models."""
    ours = [
        config
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(ROOT.resolve())
        and "site-packages" not in Path(config.path).parts
    ]
    english = []
    with translation.override("zh-hans"):
        for config in ours:
            for model in config.get_models():
                names = [model._meta.verbose_name, model._meta.verbose_name_plural]
                names += [
                    field.verbose_name
                    for field in model._meta.get_fields()
                    if isinstance(getattr(field, "verbose_name", None), Promise)
                ]
                english += [
                    f"{model.__name__}: {name}" for name in names if not CJK.search(str(name))
                ]
    assert len(ours) >= 3
    assert not english


def test_role_names_plurals_and_templates(compiled_catalogues):
    with translation.override("zh-hans"):
        assert [str(Role.CADRE.label), str(Role.GRID_WORKER.label)] == ["居委干部", "网格员"]
        due = translation.ngettext("due in %(days)d day", "due in %(days)d days", 5)
        assert due % {"days": 5} == "5 天后到期"
        template = engines["django"].from_string('{% load i18n %}{% translate "Sign in" %}')
        assert template.render() == "登录"
        # Our catalogue comes first: a shared msgid must still read right in Django's admin.
        assert translation.gettext("Yes") == "是"


@pytest.mark.django_db
def test_pages_are_chinese_by_default_and_english_on_request(compiled_catalogues, client):
    chinese = client.get("/accounts/login/").content.decode()
    assert "请使用邻里账号的手机号和密码登录。" in chinese
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/accounts/login/").content.decode()
    assert "Use the mobile number and password of your Linli account." in english
    assert "请使用" not in english
