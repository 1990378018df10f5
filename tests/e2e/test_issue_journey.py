"""报事 on phones: a resident reports a matter with a photo, a neighbour says "me too",
the property company acknowledges it, commits to a date and resolves it, and the
reporter confirms and rates it. Screenshots of the list, the report and the form at 360
and 1280 px."""

import datetime
import re

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from issues.models import Issue, Status
from tests.factories import PASSWORD
from tests.issues.conftest import issue_world  # noqa: F401 - the fixture

from .conftest import DESKTOP_VIEWPORT, PHONE_VIEWPORT, SCREENSHOT_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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
    page.wait_for_load_state()


def _shoot(page, name):
    """A full-page screenshot, test-results/screenshots/<name>.png."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=True)


def _photo(tmp_path):
    path = tmp_path / "corridor.jpg"
    Image.new("RGB", (640, 480), (180, 120, 60)).save(path, "JPEG")
    return path


def test_a_report_goes_from_a_resident_to_the_handler_and_back(
    browser,
    live_server,
    issue_world,  # noqa: F811
    tmp_path,
):
    world = issue_world
    problems = []

    def watch(page):
        page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        return page

    def phone_page():
        return watch(browser.new_context(viewport=PHONE_VIEWPORT, locale="zh-CN").new_page())

    # The resident reports, on their phone, with a photo.
    reporter = phone_page()
    _sign_in(reporter, live_server, world.a.resident.phone, "/issues/new/")
    reporter.locator("#id_category").select_option(str(world.noise.pk))
    expect(reporter.locator("[data-similar-results]")).to_contain_text(re.compile(r"\S"))
    reporter.locator("#id_description").fill("楼上每晚十一点后装修, 电钻声很响")
    expect(reporter.locator("#id_building")).to_have_value(str(world.a.building.pk))
    reporter.locator("#id_photos").set_input_files(str(_photo(tmp_path)))
    assert _fits_the_width(reporter)
    _shoot(reporter, "issue-form-360")
    reporter.set_viewport_size(DESKTOP_VIEWPORT)
    _shoot(reporter, "issue-form-1280")
    reporter.set_viewport_size(PHONE_VIEWPORT)
    reporter.locator("form[data-issue-form] button[type=submit]:not([formaction])").click()
    expect(reporter).to_have_url(re.compile(r"/issues/\d+/$"))
    issue = Issue.objects.get()
    assert issue.photos.count() == 1
    assert issue.reporter == world.a.resident

    # A neighbour says "me too": the count follows without a reload, and back again.
    neighbour = phone_page()
    _sign_in(neighbour, live_server, world.a.neighbour.phone, "/issues/")
    expect(neighbour.locator(".issue-row")).to_have_count(1)
    assert _fits_the_width(neighbour)
    _shoot(neighbour, "issue-list-360")
    neighbour.set_viewport_size(DESKTOP_VIEWPORT)
    _shoot(neighbour, "issue-list-1280")
    neighbour.set_viewport_size(PHONE_VIEWPORT)
    neighbour.locator(".issue-row__link").first.click()
    upvote = neighbour.locator("form[data-issue-toggle=upvote] button")
    expect(upvote).to_have_attribute("aria-pressed", "false")
    url_before = neighbour.url
    upvote.click()
    expect(upvote).to_have_attribute("aria-pressed", "true")
    expect(neighbour.locator("[data-upvote-count]")).to_have_text("1")
    assert neighbour.url == url_before
    issue.refresh_from_db()
    assert issue.upvote_count == 1

    # The property company acknowledges it, commits to a date and resolves it.
    handler = phone_page()
    _sign_in(handler, live_server, world.a.property_staff.phone, "/issues/handle/")
    expect(handler.locator(".issue-row")).to_have_count(1)
    assert _fits_the_width(handler)
    _shoot(handler, "issue-inbox-360")
    handler.locator(".issue-row__link").first.click()
    handler.locator("#move-acknowledge button[type=submit]").click()
    expect(handler.locator("#move-commit")).to_be_visible()
    due = timezone.localdate() + datetime.timedelta(days=3)
    if not handler.locator("#id_commit-committed_due").is_visible():
        handler.locator("#move-commit summary").click()
    handler.locator("#id_commit-committed_due").fill(due.isoformat())
    handler.locator("#move-commit button[type=submit]").click()
    expect(handler.locator("#move-resolve")).to_be_visible()
    if not handler.locator("#id_resolve-note").is_visible():
        handler.locator("#move-resolve summary").click()
    handler.locator("#id_resolve-note").fill("已与施工方协调, 晚上十点后不再施工")
    handler.locator("#move-resolve button[type=submit]").click()
    expect(handler.locator(".issue-status--resolved").first).to_be_visible()
    assert _fits_the_width(handler)
    _shoot(handler, "issue-handle-360")
    issue.refresh_from_db()
    assert (issue.status, issue.committed_due) == (Status.RESOLVED, due)

    # The reporter sees the committed date and the resolution, and rates it.
    reporter.reload()
    expect(reporter.locator(".issue-committed")).to_have_text(due.isoformat())
    assert _fits_the_width(reporter)
    _shoot(reporter, "issue-detail-360")
    reporter.set_viewport_size(DESKTOP_VIEWPORT)
    _shoot(reporter, "issue-detail-1280")
    reporter.set_viewport_size(PHONE_VIEWPORT)
    reporter.locator(".rating__option").filter(has_text="5").click()
    reporter.locator("form.issue-confirm button[type=submit]").click()
    expect(reporter.locator(".issue-status--closed").first).to_be_visible()
    issue.refresh_from_db()
    assert (issue.status, issue.rating) == (Status.CLOSED, 5)

    assert problems == []
