"""A new resident on a phone: sign up with a text message code, verify with the
household code from the committee's slip, land on the home page."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from residents.models import Resident
from residents.services import household_code_issue
from tests.factories import HouseholdFactory, ResidentFactory, make_id_number

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "13712345678"
ID_NUMBER = make_id_number(6262)
NEW_PASSWORD = "a-new-linli-pass-7"


def _fits_the_width(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.fixture
def sent(monkeypatch):
    """Text messages, captured instead of sent (live_server runs in this process)."""
    messages = []
    monkeypatch.setattr("core.sms.send_sms", lambda phone, msg: messages.append((phone, msg)))
    return messages


def test_a_resident_signs_up_verifies_and_lands_home(page, live_server, world, sent, screenshot):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    resident = ResidentFactory(household=household, name="李四", id_number=ID_NUMBER)
    slip = household_code_issue(household=household, by=world.a.cadre)
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            msg.type == "error" and "status of 400" not in msg.text and problems.append(msg.text)
        ),
    )

    # From the sign-in page to sign-up.
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("a[href='/accounts/signup/']").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    assert _fits_the_width(page)
    page.locator("#id_phone").fill(f"+86 {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}")
    page.locator("main form button[type=submit]").first.click()

    # The code from the text message.
    expect(page).to_have_url(re.compile(r"/accounts/signup/code/$"))
    assert [phone for phone, _msg in sent] == [PHONE]
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", sent[0][1]).group(1)
    assert _fits_the_width(page)
    screenshot("signup-code-360")
    page.locator("#id_code").fill(code)
    page.locator("main form.sms-code-form button[type=submit]").click()

    # Name and password; the account is made and signed in.
    expect(page).to_have_url(re.compile(r"/accounts/signup/details/$"))
    page.locator("#id_name").fill("李四")
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    assert _fits_the_width(page)
    screenshot("signup-details-360")
    page.locator("main form button[type=submit]").click()

    # Straight on to the household code.
    expect(page).to_have_url(re.compile(r"/me/verify/\?next=%2F$"))
    expect(page.locator(".message--success")).to_be_visible()
    assert _fits_the_width(page)
    page.locator("#id_code").fill(slip.printed)
    page.locator("#id_name").fill("李四")
    page.locator("#id_id_last4").fill(ID_NUMBER[-4:])
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"^" + re.escape(live_server.url) + r"/$"))
    expect(page.locator(".message--success")).to_be_visible()
    assert _fits_the_width(page)
    screenshot("signup-home-360")

    user = User.objects.get(phone=PHONE)
    assert user.verified
    assert user.check_password(NEW_PASSWORD)
    assert Resident.objects.get(pk=resident.pk).user_id == user.pk
    assert problems == []
