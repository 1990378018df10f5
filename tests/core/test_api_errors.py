"""One error shape for every API error, translated, with the right headers; throttling."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from core.api.views import ScopedReadOnlyViewSet
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DWELLINGS = "/api/v1/dwellings/"


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    cache.clear()


def error_of(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["status"] == status
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_401_anonymous_has_shape_and_www_authenticate(world, client):
    error = error_of(client.get(DWELLINGS), 401)
    assert error["code"] == "not_authenticated"
    response = client.get(f"{DWELLINGS}{world.a.dwelling.pk}/")
    error_of(response, 401)
    assert response["WWW-Authenticate"] == 'Api-Key realm="api"'


def test_401_bad_key_has_shape_and_www_authenticate(world, client):
    response = client.get(DWELLINGS, headers={"Authorization": "Api-Key linli_0_x"})
    assert error_of(response, 401)["code"] == "invalid_api_key"
    assert response["WWW-Authenticate"].startswith("Api-Key")


def test_other_authorization_schemes_are_ignored_not_crashed(world, client):
    response = client.get(DWELLINGS, headers={"Authorization": "Bearer something"})
    assert error_of(response, 401)["code"] == "not_authenticated"


def test_403_key_without_scope(world, client, api_key_headers):
    _key, headers = api_key_headers(world.a.neighbourhood, scopes=["residents:read"])
    assert error_of(client.get(DWELLINGS, headers=headers), 403)["code"] == "insufficient_scope"


def test_404_out_of_scope_and_missing_look_the_same(world, login):
    client = login(world.b.cadre)
    hidden = error_of(client.get(f"{DWELLINGS}{world.a.dwelling.pk}/"), 404)
    missing = error_of(client.get(f"{DWELLINGS}999999/"), 404)
    assert hidden == missing
    assert hidden["code"] == "not_found"
    error_of(client.get(f"{DWELLINGS}not-a-number/"), 404)


@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v2/dwellings/", "/api/x"])
def test_404_unknown_api_paths_are_json_in_the_same_shape(client, path):
    assert error_of(client.get(path), 404)["code"] == "not_found"


def test_missing_trailing_slash_redirects_like_django(world, login):
    response = login(world.a.cadre).get("/api/v1/dwellings?page_size=2")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/dwellings/?page_size=2"


def test_405_on_read_only_endpoints(world, login, client, api_key_headers):
    session = login(world.a.cadre)
    response = session.post(DWELLINGS, {})
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]
    error_of(session.delete(f"{DWELLINGS}{world.a.dwelling.pk}/"), 405)
    # a key learns the method is not allowed too (not that it lacks a write scope)
    _key, headers = api_key_headers(world.a.neighbourhood)
    error_of(client.put(f"{DWELLINGS}{world.a.dwelling.pk}/", {}, headers=headers), 405)


def test_400_has_field_messages(world, login):
    response = login(world.a.cadre).get(DWELLINGS, {"floor_area_min": "lots"})
    error = error_of(response, 400)
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["floor_area_min"]
    assert all(isinstance(m, str) for m in error["fields"]["floor_area_min"])


@pytest.mark.parametrize(
    "language, not_found, unauthenticated",
    [
        ("en", "Not found.", "Authentication credentials were not provided."),
        ("zh-hans", "未找到。", "身份认证信息未提供。"),
    ],
)
def test_messages_are_translated(world, login, client, language, not_found, unauthenticated):
    headers = {"Accept-Language": language}
    assert error_of(client.get(DWELLINGS, headers=headers), 401)["message"] == unauthenticated
    session = login(world.b.cadre)
    response = session.get(f"{DWELLINGS}{world.a.dwelling.pk}/", headers=headers)
    assert error_of(response, 404)["message"] == not_found


def _rates(**rates):
    return {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "1000/min", "user": "1000/min", "anon": "1000/min"}
        | rates,
    }


def test_429_when_a_key_exceeds_its_rate(world, client, api_key_headers):
    _key, headers = api_key_headers(world.a.neighbourhood)
    _other, other_headers = api_key_headers(world.a.neighbourhood)
    with override_settings(REST_FRAMEWORK=_rates(api_key="2/min")):
        assert client.get(DWELLINGS, headers=headers).status_code == 200
        assert client.get(DWELLINGS, headers=headers).status_code == 200
        response = client.get(DWELLINGS, headers=headers)
        error = error_of(response, 429)
        assert error["code"] == "throttled"
        assert 0 < error["retry_after"] <= 60
        assert int(response["Retry-After"]) == error["retry_after"]
        # the budget is per key
        assert client.get(DWELLINGS, headers=other_headers).status_code == 200


def test_429_when_a_user_exceeds_their_rate(world, login):
    session = login(world.a.cadre)
    with override_settings(REST_FRAMEWORK=_rates(user="1/min")):
        assert session.get(DWELLINGS).status_code == 200
        assert error_of(session.get(DWELLINGS), 429)["code"] == "throttled"
        other = login(UserFactory())  # same client, now another user: own budget
        assert other.get(DWELLINGS).status_code == 200


def test_throttle_rate_follows_settings(world, client, api_key_headers):
    _key, headers = api_key_headers(world.a.neighbourhood)
    for _ in range(3):
        assert client.get(DWELLINGS, headers=headers).status_code == 200
    with override_settings(REST_FRAMEWORK=_rates(api_key="3/min")):
        assert client.get(DWELLINGS, headers=headers).status_code == 429


def test_scoped_viewsets_cannot_override_get_queryset():
    with pytest.raises(TypeError, match="safely_get_queryset"):

        class Leaky(ScopedReadOnlyViewSet):
            def get_queryset(self):
                return []
