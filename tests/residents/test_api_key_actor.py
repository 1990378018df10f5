"""Writes made with an API key name the key (finding 12 of issue 11): the history's change
reason and the audit events' actor label say "API key <name> (<prefix>)"."""

from __future__ import annotations

import pytest

from core.api.authentication import ApiKeyPrincipal
from core.audit import actor_label
from residents import events
from residents.api import views as api_views
from residents.models import Household, Resident
from tests.factories import HouseholdFactory, ResidentFactory, make_id_number

pytestmark = pytest.mark.django_db

RESIDENTS = "/api/v1/residents/"
HOUSEHOLDS = "/api/v1/households/"


@pytest.fixture
def writer(world, api_key_headers):
    key, headers = api_key_headers(
        world.a.neighbourhood, scopes=("residents:read", "residents:write"), name="区大数据中心"
    )
    return key, headers


def _named(key) -> str:
    return f"API key 区大数据中心 ({key.prefix})"


def test_an_api_key_create_and_update_name_the_key_in_the_history(client, world, writer):
    key, headers = writer
    household = HouseholdFactory(dwelling=world.a.dwelling)
    created = client.post(
        RESIDENTS,
        {"household": household.pk, "name": "赵六", "id_number": make_id_number(6161)},
        content_type="application/json",
        headers=headers,
    )
    assert created.status_code == 201, created.content
    resident = Resident.objects.get(pk=created.json()["id"])
    first = resident.history.earliest()
    assert first.history_user is None
    assert first.history_change_reason == _named(key)

    changed = client.patch(
        f"{RESIDENTS}{resident.pk}/",
        {"lives_alone": True},
        content_type="application/json",
        headers=headers,
    )
    assert changed.status_code == 200, changed.content
    latest = resident.history.latest()
    assert latest.history_change_reason == _named(key)
    assert latest.lives_alone is True


def test_an_api_key_household_write_names_the_key(client, world, writer):
    key, headers = writer
    response = client.post(
        HOUSEHOLDS,
        {"dwelling": world.a.dwelling.pk},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 201, response.content
    household = Household.objects.get(pk=response.json()["id"])
    assert household.history.latest().history_change_reason == _named(key)


def test_a_signed_in_users_change_keeps_the_user_and_no_reason(client, world, login):
    resident = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling))
    response = login(world.a.cadre).patch(
        f"{RESIDENTS}{resident.pk}/", {"notes": "x"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    latest = resident.history.latest()
    assert latest.history_user == world.a.cadre
    assert latest.history_change_reason is None


def test_the_api_views_pass_the_key_to_the_services(client, world, writer, monkeypatch):
    key, headers = writer
    resident = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling))
    seen = []
    real = api_views.resident_update

    def spy(**kwargs):
        seen.append(kwargs["by"])
        return real(**kwargs)

    monkeypatch.setattr(api_views, "resident_update", spy)
    response = client.patch(
        f"{RESIDENTS}{resident.pk}/",
        {"notes": "y"},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200
    assert isinstance(seen[0], ApiKeyPrincipal) and seen[0].api_key == key


def test_an_audit_event_by_a_key_names_it(world, writer):
    key, _headers = writer
    principal = ApiKeyPrincipal(key)
    resident = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling))
    event = events.resident_anonymised(actor=principal, resident=resident)
    assert event.actor is None
    assert event.actor_label == _named(key)
    assert actor_label(world.a.cadre) == str(world.a.cadre)
    assert actor_label(None) == ""
