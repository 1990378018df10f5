"""实名认证 on phones: a cadre issues a household code and prints the slip; a resident
signs in and verifies their account with it."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from residents.models import Resident
from tests.factories import PASSWORD, HouseholdFactory, ResidentFactory, UserFactory, make_id_number

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ID_NUMBER = make_id_number(5151)


def _fits_the_width(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def _sign_in(page, live_server, phone, next_url):
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.locator("#id_username").fill(phone)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(next_url) + "$"))


def test_a_cadre_issues_a_code_and_a_resident_verifies_with_it(browser, live_server, world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    resident = ResidentFactory(household=household, name="张三", id_number=ID_NUMBER)
    account = UserFactory(name="")
    problems = []

    def console(msg):
        # the failed try is answered 400 on purpose; anything else is a problem
        if msg.type == "error" and "status of 400" not in msg.text:
            problems.append(msg.text)

    def watch(page):
        page.on("console", console)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        return page

    # The cadre, on their phone, opens the household and issues a code.
    cadre_context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    cadre = watch(cadre_context.new_page())
    code_url = f"/registry/households/{household.pk}/code/"
    _sign_in(cadre, live_server, world.a.cadre.phone, code_url)
    expect(cadre.get_by_text("张三")).to_be_visible()
    assert _fits_the_width(cadre)
    cadre.locator("form.code-issue button[type=submit]").click()
    slip_code = cadre.locator("[data-slip-code]")
    expect(slip_code).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    code = slip_code.inner_text()
    expect(cadre.locator("[data-print]")).to_be_visible()  # shown by registry-pages.js
    expect(cadre.get_by_text(world.a.estate.name).first).to_be_visible()
    assert _fits_the_width(cadre)
    cadre.screenshot(path=_shot_path("verify-slip-360"), full_page=True)
    # Printed, the slip stands alone: no header, no buttons.
    cadre.emulate_media(media="print")
    expect(cadre.locator(".site-header")).to_be_hidden()
    expect(cadre.locator("[data-print]")).to_be_hidden()
    expect(slip_code).to_be_visible()
    cadre.emulate_media(media="screen")
    cadre_context.close()

    # The resident signs in on their own phone and verifies.
    resident_context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = watch(resident_context.new_page())
    _sign_in(page, live_server, account.phone, "/me/verify/")
    assert _fits_the_width(page)
    # A wrong last 4 first: one generic message, nothing linked.
    page.locator("#id_code").fill(code.lower())
    page.locator("#id_name").fill("张三")
    page.locator("#id_id_last4").fill("0000" if ID_NUMBER[-4:] != "0000" else "1111")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".form-errors")).to_be_visible()
    assert not User.objects.get(pk=account.pk).verified
    page.screenshot(path=_shot_path("verify-failed-360"), full_page=True)

    page.locator("#id_code").fill(code)
    page.locator("#id_name").fill("张三")
    page.locator("#id_id_last4").fill(ID_NUMBER[-4:])
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/me/$"))
    expect(page.locator(".message--success")).to_be_visible()
    expect(page.locator("#visitor-link-url")).to_be_visible()
    assert _fits_the_width(page)
    page.screenshot(path=_shot_path("me-verified-360"), full_page=True)
    resident_context.close()

    account.refresh_from_db()
    assert account.verified
    assert Resident.objects.get(pk=resident.pk).user_id == account.pk
    assert problems == []


def _shot_path(name: str) -> str:
    from .conftest import SCREENSHOT_DIR

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOT_DIR / f"{name}.png")
