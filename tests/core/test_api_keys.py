"""API keys: the service, authentication, the admin and the create_api_key command."""

import datetime
import hashlib
import io
import re

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from core.api.authentication import forget_cached_key, split_key
from core.models import ApiKey
from core.services import api_key_create, api_key_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DWELLINGS = "/api/v1/dwellings/"


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    cache.clear()


def auth(full_key):
    return {"Authorization": f"Api-Key {full_key}"}


# --- the service ---------------------------------------------------------------------


def test_create_stores_only_prefix_and_hash(world):
    user = UserFactory()
    api_key, full_key = api_key_create(
        name="城运中心",
        scopes=["residents:read", "places:read"],
        place=world.a.neighbourhood,
        created_by=user,
    )
    api_key.refresh_from_db()
    assert full_key.startswith(f"linli_{api_key.prefix}_")
    assert api_key.key_hash == hashlib.sha256(full_key.encode()).hexdigest()
    secret = full_key.split("_", 2)[2]
    for field in ApiKey._meta.concrete_fields:
        value = str(getattr(api_key, field.attname))
        assert full_key not in value and secret not in value
    assert api_key.scopes == ["places:read", "residents:read"]  # canonical order
    assert api_key.place == world.a.neighbourhood
    assert api_key.created_by == user
    assert api_key.is_active


@pytest.mark.parametrize(
    "scopes, message",
    [(["places:read", "places:write"], "places:write"), ([], "at least one"), ("", "at least")],
)
def test_create_rejects_unknown_or_missing_scopes(world, scopes, message):
    with pytest.raises(ValidationError) as error, translation.override("en"):
        api_key_create(name="x", scopes=scopes, place=world.a.neighbourhood)
    assert message in str(error.value)
    assert not ApiKey.objects.exists()


def test_create_rejects_what_is_not_a_registered_place(world):
    for place in (world.a.company, world.a.dwelling, UserFactory(), type(world.a.estate)()):
        with pytest.raises(ValidationError):
            api_key_create(name="x", scopes=["places:read"], place=place)
    assert not ApiKey.objects.exists()


def test_create_rejects_blank_name_and_past_expiry(world):
    with pytest.raises(ValidationError):
        api_key_create(name="  ", scopes=["places:read"], place=world.a.neighbourhood)
    with pytest.raises(ValidationError):
        api_key_create(
            name="x",
            scopes=["places:read"],
            place=world.a.neighbourhood,
            expires_at=timezone.now() - datetime.timedelta(minutes=1),
        )


def test_revoke_is_idempotent(world):
    api_key, _full = api_key_create(name="x", scopes=["places:read"], place=world.a.estate)
    api_key_revoke(api_key=api_key)
    first = api_key.revoked_at
    assert first is not None and not api_key.is_active
    api_key_revoke(api_key=api_key)
    assert api_key.revoked_at == first


def test_split_key_accepts_underscores_in_the_secret():
    assert split_key("linli_abcd1234_se_cr_et") == "abcd1234"
    assert split_key("linli_abcd1234_") is None
    assert split_key("other_abcd1234_secret") is None
    assert split_key("nonsense") is None


# --- authentication ---------------------------------------------------------------------


def test_key_authenticates_and_reads(world, client, api_key_headers):
    _key, headers = api_key_headers(world.a.neighbourhood)
    response = client.get(DWELLINGS, headers=headers)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [world.a.dwelling.pk]


def test_key_whose_secret_contains_underscores_works(world, client, monkeypatch):
    import secrets

    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: "under_score_secret-value")
    _key, full_key = api_key_create(name="x", scopes=["places:read"], place=world.a.neighbourhood)
    assert full_key.count("_") > 2
    assert client.get(DWELLINGS, headers=auth(full_key)).status_code == 200


def assert_unauthorised(response, code):
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response["WWW-Authenticate"].startswith("Api-Key")


def test_revoked_key_gets_401(world, client):
    api_key, full_key = api_key_create(
        name="x", scopes=["places:read"], place=world.a.neighbourhood
    )
    assert client.get(DWELLINGS, headers=auth(full_key)).status_code == 200
    api_key_revoke(api_key=api_key)
    assert_unauthorised(client.get(DWELLINGS, headers=auth(full_key)), "api_key_revoked")


def test_expired_key_gets_401(world, client):
    api_key, full_key = api_key_create(
        name="x",
        scopes=["places:read"],
        place=world.a.neighbourhood,
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    assert client.get(DWELLINGS, headers=auth(full_key)).status_code == 200
    ApiKey.objects.filter(pk=api_key.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    forget_cached_key(api_key)  # a write outside the services forgets the cached row
    assert_unauthorised(client.get(DWELLINGS, headers=auth(full_key)), "api_key_expired")


@pytest.mark.parametrize(
    "header",
    [
        "Api-Key linli_00000000_nope",
        "Api-Key garbage",
        "Api-Key ",
        "Api-Key two words",
        "api-key linli_{prefix}_wrong-secret",
        "Api-Key {wrong_secret}",
    ],
)
def test_bad_key_gets_401(world, client, header):
    api_key, full_key = api_key_create(
        name="x", scopes=["places:read"], place=world.a.neighbourhood
    )
    header = header.format(prefix=api_key.prefix, wrong_secret=full_key[:-2] + "xx")
    assert_unauthorised(client.get(DWELLINGS, headers={"Authorization": header}), "invalid_api_key")


def test_key_without_places_read_gets_403(world, client, api_key_headers):
    _key, headers = api_key_headers(
        world.a.neighbourhood, scopes=["residents:read", "residents:write"]
    )
    response = client.get(DWELLINGS, headers=headers)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "insufficient_scope"
    assert "places:read" in error["message"]
    detail = client.get(f"{DWELLINGS}{world.a.dwelling.pk}/", headers=headers)
    assert detail.status_code == 403


def test_key_is_not_a_session_user(world, client, api_key_headers):
    """A key never borrows the signed-in user's scope, nor the reverse."""
    _key, headers = api_key_headers(world.b.neighbourhood)
    client.force_login(world.a.cadre, backend="django.contrib.auth.backends.ModelBackend")
    rows = client.get(DWELLINGS, headers=headers).json()["results"]
    assert [row["id"] for row in rows] == [world.b.dwelling.pk]


def test_last_used_is_written_at_most_once_per_resolution(world, client, api_key_headers):
    api_key, headers = api_key_headers(world.a.neighbourhood)
    assert api_key.last_used_at is None
    client.get(DWELLINGS, headers=headers)
    api_key.refresh_from_db()
    first = api_key.last_used_at
    assert first is not None
    client.get(DWELLINGS, headers=headers)
    api_key.refresh_from_db()
    assert api_key.last_used_at == first  # within the minute: no write
    earlier = first - datetime.timedelta(seconds=61)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=earlier)
    forget_cached_key(api_key)  # a write outside the services forgets the cached row
    client.get(DWELLINGS, headers=headers)
    api_key.refresh_from_db()
    assert api_key.last_used_at > first


@override_settings(LINLI_API_KEY_LAST_USED_RESOLUTION=3600)
def test_last_used_resolution_is_a_setting(world, client, api_key_headers):
    api_key, headers = api_key_headers(world.a.neighbourhood)
    client.get(DWELLINGS, headers=headers)
    api_key.refresh_from_db()
    earlier = api_key.last_used_at - datetime.timedelta(minutes=10)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=earlier)
    forget_cached_key(api_key)  # a write outside the services forgets the cached row
    client.get(DWELLINGS, headers=headers)
    api_key.refresh_from_db()
    assert api_key.last_used_at == earlier


# --- the command -------------------------------------------------------------------------


def run_command(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_command_prints_a_working_key(world, client):
    full_key, note = run_command(
        "--name",
        "宝山区城运中心",
        "--scopes",
        "places:read,residents:read",
        "--place",
        f"neighbourhood:{world.b.neighbourhood.pk}",
    )
    assert re.fullmatch(r"linli_[0-9a-f]{8}_\S+", full_key)
    assert "places:read" in note and "cannot be shown again" in note
    api_key = ApiKey.objects.get()
    assert api_key.name == "宝山区城运中心"
    assert api_key.scopes == ["places:read", "residents:read"]
    assert api_key.place == world.b.neighbourhood
    rows = client.get(DWELLINGS, headers=auth(full_key)).json()["results"]
    assert [row["id"] for row in rows] == [world.b.dwelling.pk]


def test_command_sets_expiry(world):
    run_command(
        "--name", "x", "--scopes", "places:read", "--place", f"estate:{world.a.estate.pk}",
        "--expires", "2099-01-01",
    )  # fmt: skip
    expires_at = timezone.localtime(ApiKey.objects.get().expires_at)
    assert (expires_at.date(), expires_at.hour) == (datetime.date(2099, 1, 1), 0)


@pytest.mark.parametrize(
    "scopes, place, message",
    [
        ("places:read,places:delete", "neighbourhood:{pk}", "places:delete"),
        ("places:read", "village:{pk}", "Unknown place type"),
        ("places:read", "neighbourhood:999999", "999999"),
        ("places:read", "neighbourhood:abc", "whole number"),
        ("places:read", "neighbourhood", "TYPE:ID"),
        ("places:read", "propertycompany:{pk}", "Unknown place type"),
    ],
)
def test_command_errors_clearly(world, scopes, place, message):
    place = place.format(pk=world.a.neighbourhood.pk)
    with pytest.raises(CommandError) as error, translation.override("en"):
        run_command("--name", "x", "--scopes", scopes, "--place", place)
    assert message in str(error.value)
    assert not ApiKey.objects.exists()


def test_command_reports_every_mistake_at_once(world):
    with pytest.raises(CommandError) as error:
        run_command("--name", "x", "--scopes", "place:read", "--place", "neighbourhood:999999")
    assert "place:read" in str(error.value) and "999999" in str(error.value)


def test_command_rejects_a_bad_date(world):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run_command(
            "--name", "x", "--scopes", "places:read",
            "--place", f"neighbourhood:{world.a.neighbourhood.pk}", "--expires", "tomorrow",
        )  # fmt: skip


# --- the admin -------------------------------------------------------------------------------

ADD_URL = reverse("admin:core_apikey_add")
LIST_URL = reverse("admin:core_apikey_changelist")


def _add(client, **overrides):
    data = {
        "name": "区城运中心",
        "scopes": ["places:read", "residents:read"],
        "place_kind": "neighbourhood",
        "place_pk": "",
        "expires_at_0": "",
        "expires_at_1": "",
    }
    data.update(overrides)
    return client.post(ADD_URL, data, follow=True)


def test_superuser_creates_a_key_in_admin_and_sees_it_once(world, login, superuser):
    client = login(superuser)
    assert client.get(ADD_URL).status_code == 200
    response = _add(client, place_pk=str(world.a.neighbourhood.pk))
    assert response.status_code == 200
    texts = [str(m) for m in response.context["messages"]]
    shown = [m for t in texts for m in re.findall(r"linli_[0-9a-f]{8}_\S+", t)]
    assert len(shown) == 1
    full_key = shown[0]
    api_key = ApiKey.objects.get()
    assert api_key.created_by == superuser
    assert api_key.scopes == ["places:read", "residents:read"]
    assert api_key.place == world.a.neighbourhood
    assert api_key.key_hash == hashlib.sha256(full_key.encode()).hexdigest()
    # usable, and never shown again
    assert client.get(DWELLINGS, headers=auth(full_key)).status_code == 200
    change = client.get(reverse("admin:core_apikey_change", args=[api_key.pk]))
    assert full_key not in change.content.decode()
    listing = client.get(LIST_URL).content.decode()
    assert full_key not in listing
    assert api_key.prefix in listing
    assert "甲居民区" in listing


def test_admin_add_validates_the_place(world, login, superuser):
    client = login(superuser)
    response = _add(client, place_pk="999999")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["place_pk"]
    response = _add(client, place_pk=str(world.a.neighbourhood.pk), scopes=[])
    assert response.context["adminform"].form.errors["scopes"]
    response = _add(client, place_pk=str(world.a.neighbourhood.pk), scopes=["places:write"])
    assert response.context["adminform"].form.errors["scopes"]
    assert not ApiKey.objects.exists()


def test_admin_revoke_action(world, login, superuser):
    api_key, full_key = api_key_create(
        name="x", scopes=["places:read"], place=world.a.neighbourhood
    )
    client = login(superuser)
    response = client.post(
        LIST_URL, {"action": "revoke", "_selected_action": [api_key.pk]}, follow=True
    )
    assert response.status_code == 200
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert client.get(DWELLINGS, headers=auth(full_key)).status_code == 401
    revoked = client.get(LIST_URL, {"status": "revoked"}).content.decode()
    assert api_key.prefix in revoked
    assert api_key.prefix not in client.get(LIST_URL, {"status": "active"}).content.decode()


def test_admin_changelist_queries_do_not_grow(
    world, login, superuser, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(superuser)
    api_key_create(name="a", scopes=["places:read"], place=world.a.neighbourhood)
    client.get(LIST_URL)
    with CaptureQueriesContext(connection) as small:
        client.get(LIST_URL)
    for place in (world.a.estate, world.b.building, world.subdistrict, world.district) * 3:
        api_key_create(name="more", scopes=["places:read"], place=place)
    with django_assert_max_num_queries(len(small.captured_queries) + 4):  # one per place type
        response = client.get(LIST_URL)
    assert response.content.decode().count("more") >= 12


def test_only_superusers_manage_keys(world, login):
    client = login(world.a.cadre)  # staff, but not a superuser
    assert world.a.cadre.is_staff
    assert client.get(LIST_URL).status_code == 403
    assert client.get(ADD_URL).status_code == 403
    assert _add(client, place_pk=str(world.a.neighbourhood.pk)).status_code == 403
    assert not ApiKey.objects.exists()


# --- the scope registry: each app registers the scopes of its endpoints -----------------------


@pytest.fixture
def throwaway_scope():
    """A scope registered for one test, as an app would in its AppConfig.ready()."""
    from core.api.scopes import register_api_scope, unregister_api_scope

    code = register_api_scope("tests:read", "read test things")
    yield code
    unregister_api_scope(code)


def test_the_apps_register_their_scopes_and_core_names_none():
    import core.models
    from core.api.scopes import api_scope_codes, is_api_scope

    # buildings registers places:read, residents the registry's scopes, webhooks and
    # issues their own, in app order
    assert api_scope_codes() == [
        "places:read",
        "residents:read",
        "residents:write",
        "access:write",
        "webhooks:manage",
        "issues:read",
        "issues:write",
    ]
    # the apps that would own these do not exist yet, so nobody registers them
    for code in ("stats:read", "threads:write"):
        assert not is_api_scope(code)
    assert not hasattr(core.models, "ApiScope")


@pytest.mark.parametrize("scope", ["threads:write", "stats:read"])
def test_a_scope_nobody_registered_is_refused_with_a_translated_error(world, scope):
    for language, words in (("zh-hans", "未知的权限范围"), ("en", "Unknown scope")):
        with pytest.raises(ValidationError) as error, translation.override(language):
            api_key_create(name="x", scopes=["places:read", scope], place=world.a.neighbourhood)
        [message] = error.value.message_dict["scopes"]
        assert words in message and scope in message
        assert "residents:write" in message  # the known scopes are listed
    assert not ApiKey.objects.exists()


def test_a_registered_scope_is_offered_and_accepted(world, login, superuser, throwaway_scope):
    form = login(superuser).get(ADD_URL).content.decode()
    assert f'value="{throwaway_scope}"' in form
    assert 'value="residents:write"' in form and 'value="stats:read"' not in form
    api_key, _full = api_key_create(
        name="x", scopes=[throwaway_scope, "places:read"], place=world.a.neighbourhood
    )
    assert api_key.scopes == ["places:read", throwaway_scope]  # registration order


def test_a_scope_is_refused_once_unregistered(world, throwaway_scope):
    from core.api.scopes import unregister_api_scope

    unregister_api_scope(throwaway_scope)
    with pytest.raises(ValidationError):
        api_key_create(name="x", scopes=[throwaway_scope], place=world.a.neighbourhood)


@pytest.mark.parametrize("code", ["places", "Places:Read", ":read", "places:", "a b:read", 3])
def test_a_scope_must_be_named_resource_action(code):
    from core.api.scopes import is_api_scope, register_api_scope

    with pytest.raises(ValueError):
        register_api_scope(code, "bad")
    assert not is_api_scope(code)


def test_admin_refuses_a_scope_nobody_registered(world, login, superuser):
    response = _add(login(superuser), place_pk=str(world.a.neighbourhood.pk), scopes=["stats:read"])
    assert response.context["adminform"].form.errors["scopes"]
    assert not ApiKey.objects.exists()


def test_command_lists_the_registered_scopes_and_refuses_others_in_chinese(world):
    from core.management.commands.create_api_key import Command

    usage = Command().create_parser("manage.py", "create_api_key").format_help()
    assert "access:write" in usage and "stats:read" not in usage
    with pytest.raises(CommandError) as error, translation.override("zh-hans"):
        run_command(
            "--name", "x", "--scopes", "places:read,stats:read",
            "--place", f"neighbourhood:{world.a.neighbourhood.pk}",
        )  # fmt: skip
    assert "未知的权限范围" in str(error.value) and "stats:read" in str(error.value)
    assert not ApiKey.objects.exists()


def test_a_view_needing_an_unregistered_scope_is_a_misconfiguration(world):
    from django.core.exceptions import ImproperlyConfigured
    from rest_framework.test import APIRequestFactory

    from core.api.authentication import ApiKeyPrincipal
    from core.api.permissions import HasScope

    api_key, _full = api_key_create(name="x", scopes=["places:read"], place=world.a.neighbourhood)
    request = APIRequestFactory().get("/api/v1/somewhere/")
    request.user = ApiKeyPrincipal(api_key)

    class View:
        allowed_methods = ["GET"]
        read_scope = "stats:read"

    with pytest.raises(ImproperlyConfigured, match="stats:read"):
        HasScope().has_permission(request, View())
    View.read_scope = "places:read"
    assert HasScope().has_permission(request, View())
