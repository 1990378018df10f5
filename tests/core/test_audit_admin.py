"""The audit log in the admin: read-only for everybody, scoped for cadres."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.audit import action_label, record
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def aurl(view, *args):
    return reverse(f"admin:core_auditevent_{view}", args=args)


def shown(response) -> set[AuditEvent]:
    return set(response.context["cl"].result_list)


@pytest.fixture
def events(world):
    return {
        "a": record(actor=world.a.cadre, action="identity_revealed", target=world.a.dwelling),
        "b": record(
            actor=world.b.cadre, action="identity_revealed", target=world.b.dwelling, ip="10.0.0.9"
        ),
        "b2": record(actor=world.b.cadre, action="registry_exported", target=world.b.building),
        "nowhere": record(actor=None, action="system_job"),
    }


@pytest.fixture
def cadre_b(world, login):
    return login(world.b.cadre)


@pytest.fixture
def admin_client(superuser, login):
    return login(superuser)


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_other_neighbourhoods_entries_are_404(events, cadre_b, view):
    assert cadre_b.get(aurl(view, events["a"].pk)).status_code == 404
    assert cadre_b.get(aurl(view, events["nowhere"].pk)).status_code == 404


def test_cadre_lists_only_their_neighbourhoods_entries(events, cadre_b):
    response = cadre_b.get(aurl("changelist"))
    assert response.status_code == 200
    assert shown(response) == {events["b"], events["b2"]}
    assert "甲花园" not in response.content.decode()


def test_cadre_reads_an_entry_but_cannot_change_or_delete_it(events, cadre_b):
    entry = events["b"]
    response = cadre_b.get(aurl("change", entry.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "10.0.0.9" in html and 'name="_save"' not in html
    before = AuditEvent.objects.filter(pk=entry.pk).values().get()
    assert cadre_b.post(aurl("change", entry.pk), {"action": "forged"}).status_code == 403
    assert cadre_b.get(aurl("delete", entry.pk)).status_code == 403
    assert cadre_b.post(aurl("delete", entry.pk), {"post": "yes"}).status_code == 403
    assert cadre_b.get(aurl("add")).status_code == 403
    assert AuditEvent.objects.filter(pk=entry.pk).values().get() == before


def test_superuser_sees_everything_and_changes_nothing(events, admin_client):
    response = admin_client.get(aurl("changelist"))
    assert shown(response) == set(events.values())
    assert response.context["action_form"] is None  # no bulk delete
    entry = events["a"]
    assert admin_client.get(aurl("change", entry.pk)).status_code == 200
    assert admin_client.post(aurl("change", entry.pk), {"action": "forged"}).status_code == 403
    assert admin_client.post(aurl("delete", entry.pk), {"post": "yes"}).status_code == 403
    assert admin_client.get(aurl("add")).status_code == 403
    assert AuditEvent.objects.get(pk=entry.pk).action == "identity_revealed"


def test_filter_by_action_offers_only_actions_in_scope(events, cadre_b):
    response = cadre_b.get(aurl("changelist"))
    cl = response.context["cl"]
    labels = {str(c["display"]) for spec in cl.filter_specs for c in spec.choices(cl)}
    assert {action_label("identity_revealed"), action_label("registry_exported")} <= labels
    assert "system_job" not in labels and action_label("system_job") == "system_job"
    response = cadre_b.get(aurl("changelist"), {"action": "registry_exported"})
    assert shown(response) == {events["b2"]}


def test_filter_by_date(events, cadre_b):
    AuditEvent.objects.filter(pk=events["b2"].pk).update(
        created_at=timezone.now() - datetime.timedelta(days=60)
    )
    cl = cadre_b.get(aurl("changelist")).context["cl"]
    dates = next(s for s in cl.filter_specs if getattr(s, "field_path", None) == "created_at")
    _label, today = dates.links[1]  # "Today", with the time zone's own bounds
    response = cadre_b.get(aurl("changelist"), today)
    assert shown(response) == {events["b"]}


@pytest.mark.parametrize(
    ("term", "expected"), [("乙干部", {"b", "b2"}), ("101", {"b"}), ("甲", set())]
)
def test_search_by_who_and_what(events, cadre_b, term, expected):
    response = cadre_b.get(aurl("changelist"), {"q": term})
    assert shown(response) == {events[key] for key in expected}


def test_changelist_query_count_is_fixed(world, cadre_b, django_assert_max_num_queries):
    def add(n):
        for _i in range(n):
            record(actor=world.b.cadre, action="identity_revealed", target=world.b.dwelling)

    add(3)
    cadre_b.get(aurl("changelist"))
    with CaptureQueriesContext(connection) as few:
        cadre_b.get(aurl("changelist"))
    add(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = cadre_b.get(aurl("changelist"))
    assert response.context["cl"].result_count == 30


def test_the_list_speaks_in_labels_and_names_not_codes_and_ids(events, world, login):
    """A cadre reading the log in Chinese sees what happened and where, not
    ``registry_exported`` or "居民区 ID 1", and the address column says it is an IP."""
    client = login(world.b.cadre)
    response = client.get(aurl("changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert "registry_exported" not in html.replace("action=registry_exported", "")
    assert "导出居民名册" in html
    assert world.b.neighbourhood.name in html
    assert "IP 地址" in html


def test_the_list_names_neighbourhoods_in_one_query_whatever_the_page(world, login):
    client = login(world.b.cadre)
    for _ in range(3):
        record(actor=world.b.cadre, action="registry_exported", target=world.b.building)
    client.get(aurl("changelist"))  # the first request fills the shared scope cache
    with CaptureQueriesContext(connection) as few:
        client.get(aurl("changelist"))
    for _ in range(20):
        record(actor=world.b.cadre, action="registry_exported", target=world.b.building)
    with CaptureQueriesContext(connection) as many:
        client.get(aurl("changelist"))
    assert len(many) == len(few)
