"""A cadre on a phone: sign in, see their places, switch to English, open the admin."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import PASSWORD

from .conftest import DESKTOP_VIEWPORT, PHONE_VIEWPORT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _spaced(phone: str) -> str:
    return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"


def _fits_the_width(page) -> bool:
    """Nothing sticks out sideways (no horizontal scrolling on a phone)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_cadre_signs_in_on_a_phone_and_switches_to_english(page, live_server, world, screenshot):
    today = timezone.localdate()
    world.a.elevator.next_inspection_due = today + datetime.timedelta(days=9)
    world.a.elevator.save()
    cadre = world.a.cadre
    problems = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    # What a visitor sees first, then the login page; on a phone and on a desktop.
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("link", name="登录").last).to_be_visible()
    assert _fits_the_width(page)
    screenshot("home-anonymous-360")
    page.set_viewport_size(DESKTOP_VIEWPORT)
    screenshot("home-anonymous-1280")
    page.set_viewport_size(PHONE_VIEWPORT)

    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#id_username")).to_be_visible()
    assert _fits_the_width(page)
    screenshot("login-360")
    page.set_viewport_size(DESKTOP_VIEWPORT)
    screenshot("login-1280")
    page.set_viewport_size(PHONE_VIEWPORT)

    # Sign in with the number typed the way people type it.
    page.locator("#id_username").fill(_spaced(cadre.phone))
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/")

    # Their places, with the path from the district down.
    expect(page.get_by_text("宝山区 › 友谊路街道 › 甲居民区")).to_be_visible()
    expect(page.get_by_text(world.a.elevator.device_code)).to_be_visible()
    expect(page.get_by_text("乙居民区")).to_have_count(0)
    assert _fits_the_width(page)
    screenshot("home-360")
    page.set_viewport_size(DESKTOP_VIEWPORT)
    screenshot("home-1280")
    page.set_viewport_size(PHONE_VIEWPORT)

    # The language switch submits itself (static JS) and the choice is saved.
    expect(page.locator(".lang-switch button")).to_be_hidden()
    with page.expect_navigation():
        page.locator("#language-select").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Your places")).to_be_visible()
    expect(page.get_by_role("link", name="Admin")).to_be_visible()
    cadre.refresh_from_db()
    assert cadre.language == "en"
    screenshot("home-360-en")

    # No script was blocked and nothing failed on our pages.
    assert problems == []

    # And into the back office.
    page.get_by_role("link", name="Admin").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screenshot("admin-360-en")
