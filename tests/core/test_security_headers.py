"""Security headers on pages, and templates that keep to the CSP (no inline script)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

TEMPLATE_DIR = Path(settings.BASE_DIR) / "templates"


def _csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/password/reset/"])
def test_pages_send_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = _csp_directives(response["Content-Security-Policy"])
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src, "a script source policy is set"
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "'unsafe-inline'" not in csp.get("style-src", csp.get("default-src", []))
    assert csp.get("frame-ancestors") == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_signed_in_pages_send_them_too(client, login, world):
    login(world.a.cadre)
    response = client.get("/")
    assert "'unsafe-inline'" not in _csp_directives(response["Content-Security-Policy"]).get(
        "script-src", []
    )
    assert response["X-Frame-Options"] == "DENY"


def test_the_404_page_is_the_site_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "css/linli.css" in response.content.decode()
    assert "Content-Security-Policy" in response


_SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_STYLE_BLOCK = re.compile(r"<style\b", re.IGNORECASE)
_EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def _templates():
    files = sorted(p for p in TEMPLATE_DIR.rglob("*") if p.is_file())
    assert files, f"no templates found under {TEMPLATE_DIR}"
    return files


def test_no_template_has_an_inline_script():
    offenders = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for match in _SCRIPT_TAG.finditer(text):
            if not re.search(r"\bsrc\s*=", match.group(1)):
                offenders.append(f"{path.relative_to(TEMPLATE_DIR)}: {match.group(0)}")
        if _EVENT_HANDLER.search(text):
            offenders.append(f"{path.relative_to(TEMPLATE_DIR)}: inline event handler")
    assert offenders == []


def test_no_template_has_a_style_block():
    offenders = [
        str(path.relative_to(TEMPLATE_DIR))
        for path in _templates()
        if _STYLE_BLOCK.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_scanner_catches_an_inline_script():
    # a test that cannot fail is a defect: the pattern must see these
    assert not re.search(r"\bsrc\s*=", _SCRIPT_TAG.search("<script>alert(1)</script>").group(1))
    assert _EVENT_HANDLER.search('<button onclick="x()">')
    assert _STYLE_BLOCK.search("<STYLE>body{}</style>")


def test_favicon_ico_leads_to_the_site_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")
    from django.contrib.staticfiles import finders

    assert finders.find("img/favicon.svg")
