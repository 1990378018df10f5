"""A cadre on a phone builds the "90+" smart report, saves it and re-runs it later."""

import datetime
import itertools
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from buildings.models import add_years
from residents.models import SavedReport
from tests.factories import PASSWORD, HouseholdFactory, ResidentFactory, make_id_number

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

_seq = itertools.count(900)


def _person(dwelling, name, age):
    birth = add_years(timezone.localdate(), -age) - datetime.timedelta(days=5)
    return ResidentFactory(
        household=HouseholdFactory(dwelling=dwelling),
        name=name,
        id_number=make_id_number(next(_seq), birth=birth),
    )


def _fits_the_width(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_cadre_builds_saves_and_reruns_the_90_plus_report(page, live_server, world, screenshot):
    a = world.a
    _person(a.dwelling, "王奶奶", 93)
    _person(a.dwelling, "李爷爷", 90)
    _person(a.dwelling, "张阿姨", 65)
    _person(world.b.dwelling, "隔壁老人", 95)
    problems = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"{live_server.url}/accounts/login/?next=/registry/reports/")
    page.locator("#id_username").fill(a.cadre.phone)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/registry/reports/$"))
    page.wait_for_load_state()  # reports.js is listening
    # everyone current in the neighbourhood, at once
    expect(page.locator("[data-report-count]")).to_have_text("3")

    # Tick "age at least 90": the count and the list follow without a reload,
    # and the address becomes the report.
    page.locator("#id_age_min").fill("90")
    expect(page.locator("[data-report-count]")).to_have_text("2")
    expect(page).to_have_url(re.compile(r"age_min=90"))
    results = page.locator("#report-results")
    expect(results.get_by_text("王奶奶")).to_be_visible()
    expect(results.get_by_text("李爷爷")).to_be_visible()
    expect(results.get_by_text("张阿姨")).to_have_count(0)
    expect(results.get_by_text("隔壁老人")).to_have_count(0)
    assert _fits_the_width(page)
    screenshot("report-builder-360")

    # Save it by name.
    page.locator("#report-results #id_name").fill("90 岁以上 (牛奶)")
    page.locator("#report-results form.report-save button[type=submit]").click()
    expect(page.get_by_role("heading", name="90 岁以上 (牛奶)")).to_be_visible()
    expect(page.locator("[data-report-count]")).to_have_text("2")
    report = SavedReport.objects.get(name="90 岁以上 (牛奶)")
    assert report.conditions == {"age_min": 90, "moved_out": "current"}
    assert report.neighbourhood == a.neighbourhood
    screenshot("report-saved-360")

    # A month later someone turns 90: re-running the saved report finds them.
    _person(a.dwelling, "赵奶奶", 90)
    report.refresh_from_db()
    assert report.last_count == 2
    page.goto(f"{live_server.url}/registry/reports/saved/")
    page.get_by_role("link", name="90 岁以上 (牛奶)").click()
    expect(page.locator("[data-report-count]")).to_have_text("3")
    expect(page.get_by_text("赵奶奶")).to_be_visible()
    report.refresh_from_db()
    assert report.last_count == 3
    assert _fits_the_width(page)
    screenshot("report-rerun-360")

    assert problems == []
