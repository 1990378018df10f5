"""The site navigation shows a staff link only to whoever the linked page lets in.

The links come from one registry (core.pages.register_staff_link, filled by the apps),
and each link's permission is read from its page's staff_page: the navigation and the
page cannot disagree.
"""

import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpResponse
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse

from accounts.models import Role
from accounts.services import role_grant
from buildings.permissions import HANDLE_ISSUES, MANAGE
from core import pages
from core.pages import register_staff_link, staff_links, staff_links_for, staff_page
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STAFF_LINKS = [
    "registry:reports",
    "registry:alerts",
    "registry:visitors",
    "registry:import",
    "registry:export",
]
# the handlers' pages (issues): the inbox and the board are for whoever handles reports,
# the hotline import for the committee
HANDLER_LINKS = ["issues:inbox", "issues:board"]
ISSUE_LINKS = [*HANDLER_LINKS, "issues:import"]
ALL_LINKS = [*STAFF_LINKS, *ISSUE_LINKS]
LINK = re.compile(r'<a href="([^"]+)" data-staff-link="([^"]+)"')


@pytest.fixture(autouse=True)
def nav_registry():
    """Tests may register links; the apps' registry is put back afterwards."""
    saved = dict(pages._STAFF_LINKS)
    yield
    pages._STAFF_LINKS.clear()
    pages._STAFF_LINKS.update(saved)


@pytest.fixture
def estate_staff(world):
    user = UserFactory(name="物业员工")
    role_grant(user=user, role=Role.PROPERTY_STAFF, place=world.a.estate)
    return user


def links_on(client, url=None):
    html = client.get(url or reverse("home")).content.decode()
    return {name: href for href, name in LINK.findall(html)}


def test_the_apps_register_the_staff_links_with_their_pages_permission():
    assert [link.url_name for link in staff_links()] == ALL_LINKS
    permissions = {link.url_name: link.permission for link in staff_links()}
    assert {name: permissions[name] for name in HANDLER_LINKS} == {
        name: HANDLE_ISSUES for name in HANDLER_LINKS
    }
    assert {permissions[name] for name in [*STAFF_LINKS, "issues:import"]} == {MANAGE}


def test_the_cadre_sees_every_staff_link(world, login):
    links = links_on(login(world.a.cadre))
    assert links == {name: reverse(name) for name in ALL_LINKS}


def test_property_staff_see_the_handlers_links_only_and_residents_none(world, login, estate_staff):
    assert estate_staff.is_staff  # the old rule (is_staff) showed them every link
    client = login(estate_staff)
    assert links_on(client) == {name: reverse(name) for name in HANDLER_LINKS}
    html = client.get(reverse("home")).content.decode()
    assert reverse("profile") in html  # the rest of the navigation is still there
    assert links_on(login(UserFactory())) == {}


def test_anonymous_visitors_see_none_and_cost_no_query(client, django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    assert links_on(client) == {}
    with django_assert_num_queries(0):
        assert staff_links_for(AnonymousUser()) == []


def test_a_hidden_link_is_a_page_that_refuses_and_a_shown_one_opens(world, login, estate_staff):
    staff = login(estate_staff)
    for name in STAFF_LINKS:
        assert staff.get(reverse(name)).status_code == 403, name
    cadre = login(world.a.cadre)
    for name in STAFF_LINKS:
        assert cadre.get(reverse(name)).status_code == 200, name


def test_the_current_page_is_marked(world, login):
    html = login(world.a.cadre).get(reverse("registry:alerts")).content.decode()
    assert re.search(r'data-staff-link="registry:alerts" aria-current="page"', html)
    assert not re.search(r'data-staff-link="registry:reports" aria-current', html)


def test_the_number_of_queries_does_not_grow_with_the_links(world, login):
    client = login(world.a.cadre)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as five:
        assert len(links_on(client)) == len(ALL_LINKS)
    for name in (
        "registry:report_saved_list",
        "registry:report_export",
        "registry:import_template",
        "registry:import_done",
        "registry:export_download",
    ):
        register_staff_link(name, name)
    with CaptureQueriesContext(connection) as ten:
        assert len(links_on(client)) == len(ALL_LINKS) + 5
    assert len(ten.captured_queries) == len(five.captured_queries)


def test_a_link_must_point_at_a_staff_page(world):
    register_staff_link("me:home", "not a staff page")
    with pytest.raises(ImproperlyConfigured, match="me:home"):
        staff_links_for(world.a.cadre)


# --- a page on another permission: its link follows that permission ---------------------------


@staff_page(HANDLE_ISSUES, denied="for whoever handles issues")
def issues_desk(request):
    return HttpResponse("desk")


urlpatterns = [
    path("desk/", issues_desk, name="issues_desk"),
    path("", include("config.urls")),
]


@override_settings(ROOT_URLCONF=__name__)
def test_a_link_follows_the_permission_of_its_page(world, login, estate_staff):
    register_staff_link("issues_desk", "Issues desk")
    assert set(links_on(login(estate_staff))) == {*HANDLER_LINKS, "issues_desk"}
    assert login(estate_staff).get("/desk/").status_code == 200
    assert set(links_on(login(world.a.cadre))) == {*ALL_LINKS, "issues_desk"}
    assert links_on(login(UserFactory())) == {}
