"""What the schemathesis run over /api/schema/ found, pinned down case by case.

The contract test (test_schema_contract.py) generates its cases; these are the ones it
found, written out so that each keeps failing if its fix is undone, whatever the
generator draws.
"""

import datetime

import pytest

from residents.models import AccessEvent
from tests.factories import HouseholdFactory, ResidentFactory

EVENTS = "/api/v1/access-events/"
ANYWHERE = {"401", "403", "414", "429", "503"}  # any operation can answer these


@pytest.fixture
def api_schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operation(api_schema, path, method="get"):
    return api_schema["paths"][path][method]


def component(api_schema, name):
    return api_schema["components"]["schemas"][name]


def parameter(op, name):
    return next(p for p in op["parameters"] if p["name"] == name)["schema"]


# --- nullable and blank values are declared --------------------------------------------


def test_null_age_null_head_name_and_blank_gender_are_in_the_schema(api_schema):
    resident = component(api_schema, "Resident")["properties"]
    assert resident["age"]["type"] == "integer" and resident["age"]["nullable"] is True
    gender = [ref["$ref"].rsplit("/", 1)[-1] for ref in resident["gender"]["oneOf"]]
    assert gender == ["GenderEnum", "BlankEnum"]
    assert component(api_schema, "BlankEnum")["enum"] == [""]
    household = component(api_schema, "Household")["properties"]
    assert household["head_name"]["nullable"] is True


def test_the_api_answers_those_values(world, api_key_headers, client):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    ResidentFactory(household=household, id_number="", gender="", birth_date=None)
    headless = HouseholdFactory(dwelling=world.a.dwelling)
    _key, headers = api_key_headers(world.a.neighbourhood, scopes=("residents:read",))
    resident = client.get("/api/v1/residents/", headers=headers).json()["results"][0]
    assert resident["gender"] == "" and resident["age"] is None
    answer = client.get(f"/api/v1/households/{headless.pk}/", headers=headers).json()
    assert answer["head"] is None and answer["head_name"] is None


# --- integer filters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/residents/", "neighbourhood"),
        ("/api/v1/residents/", "household"),
        ("/api/v1/households/", "dwelling"),
        ("/api/v1/buildings/", "estate"),
        ("/api/v1/dwellings/", "floor"),
    ],
)
def test_id_and_whole_number_filters_are_integers(api_schema, path, name):
    schema = parameter(operation(api_schema, path), name)
    assert schema["type"] == "integer"
    assert "minimum" in schema and "maximum" in schema


def test_age_filters_are_integers_with_their_bounds(api_schema):
    for name in ("age_min", "age_max"):
        schema = parameter(operation(api_schema, "/api/v1/residents/"), name)
        assert schema == {"type": "integer", "minimum": 0, "maximum": 130}


def test_decimal_filters_stay_numbers(api_schema):
    schema = parameter(operation(api_schema, "/api/v1/dwellings/"), "floor_area_min")
    assert schema["type"] == "number"


@pytest.mark.parametrize("url", ["/api/v1/residents/", "/api/v1/buildings/"])
def test_an_id_too_large_for_the_database_is_a_400(world, api_key_headers, client, url):
    _key, headers = api_key_headers(world.a.neighbourhood, scopes=("places:read", "residents:read"))
    response = client.get(url, {"neighbourhood": 2**63}, headers=headers)
    assert response.status_code == 400
    assert "neighbourhood" in response.json()["error"]["fields"]


# --- every error an operation can give is documented, in the one shape -----------------


def test_list_operations_document_their_errors(api_schema):
    responses = operation(api_schema, "/api/v1/dwellings/")["responses"]
    assert set(responses) == {"200", "400", "404"} | ANYWHERE
    assert "cursor" in responses["404"]["description"]
    error = {"$ref": "#/components/schemas/Error"}
    for code in ("400", "401", "403", "404", "429", "503"):
        assert responses[code]["content"]["application/json"]["schema"] == error
    assert "content" not in responses["414"]  # the web server's, not the API's


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/v1/residents/", "post", {"201", "400"}),
        ("/api/v1/residents/{id}/", "patch", {"200", "400", "404"}),
        ("/api/v1/households/{id}/", "get", {"200", "404"}),
        ("/api/v1/access-events/", "post", {"201", "400", "404"}),
    ],
)
def test_explicitly_annotated_operations_document_their_errors(api_schema, path, method, codes):
    responses = operation(api_schema, path, method)["responses"]
    assert set(responses) == codes | ANYWHERE
    assert all(responses[code]["description"] for code in set(responses) - {"200", "201"})


def test_the_access_events_404_keeps_its_own_description(api_schema):
    description = operation(api_schema, EVENTS, "post")["responses"]["404"]["description"]
    assert "Nothing was stored" in description


def test_a_bad_cursor_is_the_documented_404(world, login):
    response = login(world.a.cadre).get("/api/v1/dwellings/", {"cursor": "garbage"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_write_to_an_unknown_api_path_is_a_json_404(world, api_key_headers, client):
    _key, headers = api_key_headers(world.a.neighbourhood, scopes=("residents:write",))
    client.handler.enforce_csrf_checks = True  # as for a real client
    response = client.patch(
        "/api/v1/residents/1.5e-3/", "{}", content_type="application/json", headers=headers
    )
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


# --- door-access events are dated from 2000 on -----------------------------------------


@pytest.fixture
def access_key(world, api_key_headers):
    _key, headers = api_key_headers(world.a.neighbourhood, scopes=("access:write",))
    return headers


def post_events(client, headers, body):
    return client.post(EVENTS, body, content_type="application/json", headers=headers)


@pytest.mark.parametrize(
    "occurred_at", ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z"]
)
def test_an_event_before_2000_is_refused(world, client, access_key, occurred_at):
    body = {"dwelling_id": world.a.dwelling.pk, "occurred_at": occurred_at}
    response = post_events(client, access_key, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400 and error["code"] == "invalid"
    assert list(error["fields"]) == ["occurred_at"]

    response = post_events(client, access_key, [body])
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["0.occurred_at"]
    assert not AccessEvent.objects.exists()


def test_an_event_from_2000_on_is_stored(world, client, access_key):
    body = {"dwelling_id": world.a.dwelling.pk, "occurred_at": "2000-01-01T00:00:00Z"}
    response = post_events(client, access_key, body)
    assert response.status_code == 201, response.content
    stored = AccessEvent.objects.get()
    assert stored.occurred_at == datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def test_an_event_a_day_ahead_is_refused(world, client, access_key):
    ahead = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    body = {"dwelling_id": world.a.dwelling.pk, "occurred_at": ahead.isoformat()}
    assert post_events(client, access_key, body).status_code == 400
