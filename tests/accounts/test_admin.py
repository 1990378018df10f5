"""Accounts and roles in the admin: superusers only, roles through the services."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role, RoleAssignment, User
from accounts.services import role_grant
from buildings.models import Estate, Neighbourhood
from core.scoping import scope_for
from tests.factories import BuildingFactory, UserFactory

pytestmark = pytest.mark.django_db

MANAGE = "buildings.manage_neighbourhood"


def ct(model):
    return ContentType.objects.get_for_model(model).pk


@pytest.fixture
def admin_client(superuser, login):
    return login(superuser)


@pytest.mark.parametrize(
    "name, args",
    [
        ("admin:accounts_user_changelist", []),
        ("admin:accounts_user_add", []),
        ("admin:accounts_roleassignment_changelist", []),
        ("admin:accounts_roleassignment_add", []),
    ],
)
def test_cadre_cannot_open_accounts_or_roles(world, login, name, args):
    client = login(world.b.cadre)
    assert client.get(reverse(name, args=args)).status_code == 403


def test_cadre_cannot_open_an_account(world, login):
    client = login(world.b.cadre)
    url = reverse("admin:accounts_user_change", args=[world.a.cadre.pk])
    assert client.get(url).status_code == 403
    url = reverse("admin:accounts_user_change", args=[world.b.cadre.pk])
    assert client.get(url).status_code == 403  # not even their own, here


def test_superuser_lists_and_searches_accounts(world, admin_client):
    url = reverse("admin:accounts_user_changelist")
    response = admin_client.get(url, {"q": "甲干部"})
    assert list(response.context["cl"].result_list) == [world.a.cadre]
    response = admin_client.get(url, {"q": world.b.cadre.phone[-6:]})
    assert list(response.context["cl"].result_list) == [world.b.cadre]


def test_superuser_creates_an_account_with_a_normalised_phone(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "phone": "+86 138-0013-8000",
            "name": "新居民",
            "usable_password": "true",
            "password1": "a-long-Passphrase-42",
            "password2": "a-long-Passphrase-42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(phone="13800138000")
    assert user.name == "新居民" and user.check_password("a-long-Passphrase-42")
    assert not user.is_staff


def test_invalid_phone_is_refused(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {"phone": "12345", "usable_password": "false"},
    )
    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors


def test_superuser_cannot_demote_themselves(superuser, admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[superuser.pk]),
        {
            "phone": superuser.phone,
            "name": superuser.name,
            "language": "en",
            "date_joined_0": "2025-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    superuser.refresh_from_db()
    assert superuser.is_superuser and superuser.is_staff and superuser.is_active
    assert superuser.language == "en"


def test_superuser_changes_another_accounts_staff_flag(world, admin_client):
    resident = UserFactory()
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[resident.pk]),
        {
            "phone": resident.phone,
            "name": resident.name,
            "language": "zh-hans",
            "is_active": "on",
            "is_staff": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    resident.refresh_from_db()
    assert resident.is_staff and not resident.is_superuser


def test_account_page_lists_roles(world, admin_client):
    html = admin_client.get(
        reverse("admin:accounts_user_change", args=[world.a.cadre.pk])
    ).content.decode()
    assert "甲居民区" in html


# --- role assignments ---------------------------------------------------------------


def add_role(client, user, role, place_model, place_id):
    return client.post(
        reverse("admin:accounts_roleassignment_add"),
        {"user": user.pk, "role": role, "place_type": ct(place_model), "place_id": place_id},
    )


def test_granting_a_role_in_admin_goes_through_role_grant(world, superuser, admin_client):
    user = UserFactory()
    response = add_role(admin_client, user, Role.CADRE, Neighbourhood, world.b.neighbourhood.pk)
    assert response.status_code == 302
    assignment = RoleAssignment.objects.get(user=user)
    assert assignment.granted_by == superuser
    user = User.objects.get(pk=user.pk)
    assert user.is_staff  # the service sets the staff flag
    assert scope_for(user, MANAGE).neighbourhood_ids == {world.b.neighbourhood.pk}


def test_a_role_on_the_wrong_kind_of_place_is_refused(world, admin_client):
    user = UserFactory()
    response = add_role(admin_client, user, Role.BUILDING_LEADER, Estate, world.a.estate.pk)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert not RoleAssignment.objects.filter(user=user).exists()


def test_a_missing_place_is_refused(world, admin_client):
    user = UserFactory()
    response = add_role(admin_client, user, Role.CADRE, Neighbourhood, 999999)
    assert "place_id" in response.context["adminform"].form.errors
    assert not RoleAssignment.objects.filter(user=user).exists()


def test_only_place_types_are_offered(world, admin_client):
    form = admin_client.get(reverse("admin:accounts_roleassignment_add")).context["adminform"].form
    models = {c.model_class() for c in form.fields["place_type"].queryset}
    assert Neighbourhood in models and Estate in models
    assert User not in models and RoleAssignment not in models


def test_assignments_cannot_be_edited_in_place(world, admin_client):
    assignment = world.a.cadre.role_assignments.get()
    url = reverse("admin:accounts_roleassignment_change", args=[assignment.pk])
    assert admin_client.get(url).status_code == 200  # view only
    response = admin_client.post(url, {"role": Role.GRID_WORKER})
    assert response.status_code == 403
    assignment.refresh_from_db()
    assert assignment.role == Role.CADRE


def test_deleting_an_assignment_goes_through_role_revoke(world, admin_client):
    assignment = world.a.cadre.role_assignments.get()
    url = reverse("admin:accounts_roleassignment_delete", args=[assignment.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    cadre = User.objects.get(pk=world.a.cadre.pk)
    assert scope_for(cadre, MANAGE).is_empty
    assert not cadre.role_assignments.exists()


def test_bulk_delete_revokes_each_assignment(world, admin_client):
    ids = [world.a.cadre.role_assignments.get().pk, world.b.cadre.role_assignments.get().pk]
    response = admin_client.post(
        reverse("admin:accounts_roleassignment_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    for cadre in (world.a.cadre, world.b.cadre):
        assert scope_for(User.objects.get(pk=cadre.pk), MANAGE).is_empty


def test_role_changelist_query_count_does_not_grow(
    world, admin_client, django_assert_max_num_queries
):
    url = reverse("admin:accounts_roleassignment_changelist")

    def grant(n):
        for _i in range(n):
            role_grant(
                user=UserFactory(),
                role=Role.BUILDING_LEADER,
                place=BuildingFactory(estate=world.a.estate),
            )

    grant(3)
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    grant(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(url)
    assert response.context["cl"].result_count == 32
    assert "甲花园" in response.content.decode()  # building names with their estate


def test_user_changelist_query_count_does_not_grow(
    world, admin_client, django_assert_max_num_queries
):
    url = reverse("admin:accounts_user_changelist")
    UserFactory.create_batch(3)
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    UserFactory.create_batch(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(url)
