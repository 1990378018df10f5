"""Nothing unscoped: every page carries a mark, every admin and viewset sits on a scoped base.

The same walkers (core.scoped_walk) run over the real project and over deliberately
wrong throwaway ones (a URL conf, an AdminSite, a router), to prove they catch what
they should. The second half tests what the page marks (core.pages) do.
"""

import pytest
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import include, path
from django.views import View
from rest_framework import viewsets
from rest_framework.routers import SimpleRouter

from accounts.models import Role
from accounts.services import role_grant
from buildings.models import Building, Estate, Neighbourhood
from buildings.permissions import HANDLE_ISSUES, MANAGE
from config.api import router as project_router
from core.admin_scoping import (
    ScopedModelAdmin,
    ScopedTabularInline,
    SuperuserOnlyMixin,
    reference_data_admin,
)
from core.api.views import ScopedReadOnlyViewSet, public_api, unscoped_api
from core.pages import (
    ACCOUNT,
    PUBLIC,
    RESIDENT,
    STAFF,
    SUPERUSER,
    StaffPageMixin,
    account_page,
    page_kind,
    page_permission,
    public_page,
    resident_page,
    staff_page,
    superuser_page,
)
from core.scoped_walk import unmarked_views, unscoped_admins, unscoped_viewsets, walk_urls
from core.scoping import scope_for
from residents.models import CareTag
from tests.factories import UserFactory

# --- what the project leaves out of the page walk, on purpose -------------------------------

# The Django admin (its classes are walked through admin.site below) and the API tree
# (its viewsets are walked through the router below).
SKIP_PREFIXES = ("admin/", "api/")
SKIP_NAMESPACES = ("admin",)
# Django's own views, accepted by URL name as long as the name still points at them:
# the language switch (anyone) and the password pages (Django guards them itself:
# the change pages need a sign-in, the reset pages work by e-mailed token).
THIRD_PARTY_PAGES = {
    "set_language": "django.views.i18n.set_language",
    "logout": "django.contrib.auth.views.LogoutView",
    "password_change": "django.contrib.auth.views.PasswordChangeView",
    "password_change_done": "django.contrib.auth.views.PasswordChangeDoneView",
    "password_reset": "django.contrib.auth.views.PasswordResetView",
    "password_reset_done": "django.contrib.auth.views.PasswordResetDoneView",
    "password_reset_confirm": "django.contrib.auth.views.PasswordResetConfirmView",
    "password_reset_complete": "django.contrib.auth.views.PasswordResetCompleteView",
}
# Third-party admins over global, not place-bound, rows. They answer to Django model
# permissions, which no Linli role grants: in practice, superusers only.
THIRD_PARTY_ADMINS = {
    "auth.Group",
    "axes.AccessAttempt",
    "axes.AccessLog",
    "axes.AccessFailureLog",
    "otp_totp.TOTPDevice",
    "otp_static.StaticDevice",
}


def project_page_problems():
    return unmarked_views(
        skip_prefixes=SKIP_PREFIXES, skip_namespaces=SKIP_NAMESPACES, allowed=THIRD_PARTY_PAGES
    )


# --- the real project ---------------------------------------------------------------------------


def test_every_page_carries_a_mark():
    assert project_page_problems() == []


def test_the_walk_sees_the_pages_it_must():
    """The walk goes through includes and namespaces (a walk that saw nothing would pass)."""
    from config.urls import urlpatterns

    names = {route.name for route in walk_urls(urlpatterns)}
    assert {"home", "healthz", "login", "registry:reports", "me:home", "visit"} <= names
    assert "registry:import_preview" in names and "registry:export_download" in names


def test_every_staff_page_of_the_registry_is_scoped_by_the_cadre_permission():
    from django.urls import get_resolver

    routes = [r for r in walk_urls(get_resolver().url_patterns) if "registry" in r.namespaces]
    assert len(routes) > 20
    for route in routes:
        assert page_kind(route.callback) == STAFF, route.name
        assert page_permission(route.callback) == MANAGE, route.name
    me_routes = [r for r in walk_urls(get_resolver().url_patterns) if "me" in r.namespaces]
    assert me_routes and {page_kind(r.callback) for r in me_routes} == {RESIDENT}


def test_every_admin_is_scoped_superuser_only_or_reference_data():
    assert unscoped_admins(admin.site, allowed_models=THIRD_PARTY_ADMINS) == []
    # the exceptions are still registered (an allow-list entry for nothing would rot)
    registered = {model._meta.label for model in admin.site._registry}
    assert registered >= THIRD_PARTY_ADMINS


def test_every_viewset_is_on_the_scoped_api_base_or_marked():
    assert unscoped_viewsets(project_router) == []
    assert len(project_router.registry) >= 10


# --- deliberate violations: the walkers report each -----------------------------------------------


def unmarked(request):
    return HttpResponse("nobody said who may see this")


@public_page
def marked(request):
    return HttpResponse("anyone")


class UnmarkedView(View):
    def get(self, request):
        return HttpResponse("nobody said")


@public_page
class MarkedView(View):
    def get(self, request):
        return HttpResponse("anyone")


def impostor_logout(request):
    return HttpResponse("not Django's logout")


urlpatterns = [
    path("fine/", marked, name="fine"),
    path("fine-class/", MarkedView.as_view(), name="fine_class"),
    path("sneaky/", unmarked, name="sneaky"),
    path("sneaky-class/", UnmarkedView.as_view(), name="sneaky_class"),
    path("deep/", include(([path("er/", unmarked, name="deeper")], "nested"))),
    path("accounts/logout/", impostor_logout, name="logout"),
    path("admin/", admin.site.urls),  # left out by prefix, as in the project
    path("api/anything/", unmarked, name="api_thing"),  # left out by prefix
]


@override_settings(ROOT_URLCONF=__name__)
def test_the_page_walk_reports_every_unmarked_view():
    problems = project_page_problems()
    reported = " | ".join(problems)
    assert len(problems) == 4, reported
    assert "/sneaky/ (sneaky)" in reported
    assert "/sneaky-class/ (sneaky_class)" in reported and "UnmarkedView" in reported
    assert "/deep/er/ (nested:deeper)" in reported
    assert "/accounts/logout/ (logout)" in reported and "impostor_logout" in reported
    assert "fine" not in reported and "admin" not in reported and "api_thing" not in reported


class PlainEstateAdmin(admin.ModelAdmin):
    pass


@reference_data_admin
class BuildingsAsReferenceData(admin.ModelAdmin):
    """Marked reference data, but over a place-bound model: still unscoped."""


@reference_data_admin
class TagsAsReferenceData(admin.ModelAdmin):
    pass


class PlainEstateInline(admin.TabularInline):
    model = Estate


class ScopedEstateInline(ScopedTabularInline):
    model = Estate


class NeighbourhoodWithPlainInline(ScopedModelAdmin):
    inlines = [PlainEstateInline, ScopedEstateInline]


class GroupsForSuperusers(SuperuserOnlyMixin, admin.ModelAdmin):
    pass


def test_the_admin_walk_reports_every_unscoped_admin():
    from django.contrib.auth.models import Group

    site = AdminSite(name="throwaway")
    site.register(Estate, PlainEstateAdmin)
    site.register(Building, BuildingsAsReferenceData)
    site.register(CareTag, TagsAsReferenceData)
    site.register(Neighbourhood, NeighbourhoodWithPlainInline)
    site.register(Group, GroupsForSuperusers)
    problems = unscoped_admins(site)
    reported = " | ".join(problems)
    assert len(problems) == 3, reported
    assert "buildings.Estate: PlainEstateAdmin" in reported
    assert "buildings.Building: BuildingsAsReferenceData" in reported
    assert "PlainEstateInline" in reported and "ScopedEstateInline" not in reported
    assert "CareTag" not in reported and "auth.Group" not in reported
    # an allow-listed model is left alone
    assert len(unscoped_admins(site, allowed_models={"buildings.Estate"})) == 2


class PlainViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Estate.objects.all()


class ScopedButWrongScope(ScopedReadOnlyViewSet):
    read_scope = "stats:read"  # nobody registers it

    def safely_get_queryset(self):
        return Estate.objects.all()


class ScopedFine(ScopedReadOnlyViewSet):
    read_scope = "places:read"

    def safely_get_queryset(self):
        return Estate.objects.all()


@public_api
class OpenData(viewsets.ViewSet):
    pass


@unscoped_api("POST only; the service checks the jurisdiction")
class Intake(viewsets.ViewSet):
    pass


def test_the_router_walk_reports_every_unscoped_viewset():
    router = SimpleRouter()
    router.register("plain", PlainViewSet, basename="plain")
    router.register("wrong-scope", ScopedButWrongScope, basename="wrong-scope")
    router.register("fine", ScopedFine, basename="fine")
    router.register("open", OpenData, basename="open")
    router.register("intake", Intake, basename="intake")
    problems = unscoped_viewsets(router)
    reported = " | ".join(problems)
    assert len(problems) == 2, reported
    assert "plain: PlainViewSet" in reported
    assert "wrong-scope: ScopedButWrongScope needs the unregistered API scope 'stats:read'" in (
        reported
    )


def test_unscoped_api_needs_a_reason():
    with pytest.raises(ValueError):
        unscoped_api(" ")


# --- what the marks do ------------------------------------------------------------------------

rf = RequestFactory()


def _request(user, path="/somewhere/"):
    request = rf.get(path)
    request.user = user
    return request


def _seen(request):
    return HttpResponse(f"scope:{getattr(request, 'scope', None) is not None}")


@pytest.fixture
def estate_staff(world):
    user = UserFactory(name="物业员工")
    role_grant(user=user, role=Role.PROPERTY_STAFF, place=world.a.estate)
    return user


def test_staff_page_sends_a_visitor_to_sign_in():
    view = staff_page(MANAGE, denied="for cadres")(_seen)
    response = view(_request(AnonymousUser(), "/registry/x/?a=1"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "next=/registry/x/%3Fa%3D1" in response["Location"]


def test_staff_page_refuses_an_empty_scope_with_the_page_message_or_a_404(world, estate_staff):
    with pytest.raises(PermissionDenied, match="for cadres"):
        staff_page(MANAGE, denied="for cadres")(_seen)(_request(estate_staff))
    with pytest.raises(Http404):
        staff_page(MANAGE)(_seen)(_request(estate_staff))


def test_staff_page_hands_the_scope_to_the_view(world, estate_staff):
    request = _request(world.a.cadre)
    assert staff_page(MANAGE)(_seen)(request).content == b"scope:True"
    assert request.scope == scope_for(world.a.cadre, MANAGE)
    assert request.scope.neighbourhood_ids == {world.a.neighbourhood.pk}
    # the permission decides: property staff hold handle_issues on their estate
    request = _request(estate_staff)
    staff_page(HANDLE_ISSUES)(_seen)(request)
    assert request.scope.estate_ids == {world.a.estate.pk}


def test_staff_page_marks_the_view_and_keeps_its_name():
    view = staff_page(MANAGE, denied="x")(_seen)
    assert (page_kind(view), page_permission(view), view.__name__) == (STAFF, MANAGE, "_seen")
    with pytest.raises(ValueError):
        staff_page("")
    with pytest.raises(TypeError):
        staff_page(MANAGE)(MarkedView)


class CadreDesk(StaffPageMixin, View):
    page_permission = MANAGE
    page_denied = "for cadres"

    def get(self, request):
        return HttpResponse(f"{sorted(self.scope.neighbourhood_ids)}")


def test_staff_page_mixin_does_the_same_for_a_class_view(world, estate_staff):
    view = CadreDesk.as_view()
    assert (page_kind(view), page_permission(view)) == (STAFF, MANAGE)
    assert view(_request(AnonymousUser())).status_code == 302
    with pytest.raises(PermissionDenied, match="for cadres"):
        view(_request(estate_staff))
    assert view(_request(world.a.cadre)).content.decode() == f"[{world.a.neighbourhood.pk}]"


@pytest.mark.parametrize("mark, kind", [(account_page, ACCOUNT), (resident_page, RESIDENT)])
def test_account_and_resident_pages_need_a_sign_in_only(db, mark, kind):
    for target in (_seen, type("Own", (View,), {"get": lambda self, request: _seen(request)})):
        view = mark(target)
        view = view.as_view() if isinstance(view, type) else view
        assert page_kind(view) == kind
        assert view(_request(AnonymousUser())).status_code == 302
        assert view(_request(UserFactory())).status_code == 200


def test_public_page_only_marks():
    assert page_kind(marked) == PUBLIC
    assert marked(_request(AnonymousUser())).status_code == 200
    assert page_kind(MarkedView.as_view()) == PUBLIC


def test_superuser_page_is_for_superusers_alone(world, superuser):
    class Console(View):
        def get(self, request):
            return HttpResponse("console")

    for view in (superuser_page(_seen), superuser_page(Console).as_view()):
        assert page_kind(view) == SUPERUSER
        assert view(_request(AnonymousUser())).status_code == 302
        with pytest.raises(PermissionDenied):
            view(_request(world.a.cadre))
        assert view(_request(superuser)).status_code == 200
