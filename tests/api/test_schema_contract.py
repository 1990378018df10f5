"""The API against its own OpenAPI schema (/api/schema/), with schemathesis.

Every operation of the schema is called in-process through Django's WSGI handler (no
server), with an API key that holds every scope over the two-neighbourhood ``world``,
on cases generated from the schema (valid and invalid ones). Each answer must be no
5xx, a documented status code, a documented content type, and a body that matches the
documented schema for its code. The budget per operation is fixed and the generation
derandomised, so a run is short and the same every time.

``-m "not schemathesis"`` deselects it. The schema is loaded when the module is
collected (schemathesis' fixture-based loader does not work with this pytest), so it
must answer without the database.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from core.api.scopes import api_scope_codes
from core.services import api_key_create
from tests.factories import HouseholdFactory, ResidentFactory

pytestmark = pytest.mark.schemathesis

# Cases per operation in the fuzzing phase (schemathesis adds its examples and coverage
# cases: boundaries, missing and wrong-typed values). SCHEMATHESIS_MAX_EXAMPLES raises it
# for a longer hunt by hand.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 11016,
        # the API key is sent by the test; no made-up cookies or Authorization headers
        "generation": {"with-security-parameters": False},
        "phases": {
            "coverage": {
                # the boundaries of every valid value (negative cases come from fuzzing)
                "generation": {"mode": "positive"},
                # 405s for methods an operation does not have are not part of the contract
                "unexpected-methods": [],
            }
        },
    }
)

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG)


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler, kept on the test's database connection.

    A real request closes "old" connections when it starts and ends, which would end the
    test's transaction; Django's test client disconnects the same handler.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schema.app
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def registry(world):
    """Rows whose answers have the nullable and blank values of the schema: a resident
    with no gender or birth date (``gender ""``, ``age`` null) and a household without
    a head (``head``, ``head_name`` null)."""
    household = HouseholdFactory(dwelling=world.a.dwelling)
    ResidentFactory(household=household, name="张三", id_number="", gender="", birth_date=None)
    HouseholdFactory(dwelling=world.b.dwelling)
    return household


@pytest.fixture
def api_headers(world):
    """An API key with every registered scope over both neighbourhoods."""
    _key, full_key = api_key_create(
        name="schema contract", scopes=api_scope_codes(), place=world.subdistrict
    )
    return {"Authorization": f"Api-Key {full_key}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # the database fixtures are per test, not per example, on purpose: examples share them
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_honours_its_schema(case, wsgi_app, registry, api_headers):
    case.call_and_validate(headers=api_headers, checks=CHECKS)
