"""The fast list path (core.api.lists): every list endpoint answers exactly what its
serializer would, reads plain dicts where it can, and counts per row for the page only."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from rest_framework import serializers

from buildings.api.views import DwellingViewSet
from buildings.models import Dwelling, Estate
from core.api import lists
from core.api.lists import NoShape, Shape, values_shape
from core.services import api_key_create
from tests.factories import (
    AreaFactory,
    DwellingFactory,
    ElevatorFactory,
    ElevatorInspectionFactory,
    EstateFactory,
    HouseholdFactory,
    NeighbourhoodFactory,
    PropertyCompanyFactory,
    ResidentFactory,
    UserFactory,
)
from tests.issues.factories import IssueFactory
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


def _list_endpoints():
    found = {}

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns)
                continue
            callback = pattern.callback
            cls = getattr(callback, "cls", None)
            if cls is not None and getattr(callback, "actions", {}).get("get") == "list":
                found[pattern.name] = cls

    walk(get_resolver().url_patterns)
    return found


LIST_ENDPOINTS = _list_endpoints()


@pytest.fixture
def rows(world):
    """Rows of every kind, some with their optional relations empty."""
    side = world.a
    owner = UserFactory()
    side.dwelling.owners.add(owner, UserFactory())
    DwellingFactory(building=side.building, floor_area=Decimal("88.50"))
    NeighbourhoodFactory(
        subdistrict=world.subdistrict, area=AreaFactory(subdistrict=world.subdistrict)
    )
    EstateFactory(neighbourhood=side.neighbourhood, property_company=PropertyCompanyFactory())
    ElevatorInspectionFactory(elevator=ElevatorFactory(building=side.building))
    ResidentFactory(household=HouseholdFactory(dwelling=side.dwelling))
    # a report on a building, and one on a street address (no estate, no building)
    IssueFactory(building=side.building)
    IssueFactory(building=None, neighbourhood=side.neighbourhood, address="友谊路1号")
    key, _raw = api_key_create(name="k", scopes=["webhooks:manage"], place=side.neighbourhood)
    subscription = WebhookSubscription.objects.create(
        api_key=key,
        url="https://hooks.example.org/in",
        secret="whsec_eA==",
        events=["wellbeing.alert"],
    )
    WebhookDelivery.objects.create(
        subscription=subscription, event_type="wellbeing.alert", event_id="msg_1", payload={}
    )
    return world


@pytest.mark.parametrize("name", sorted(LIST_ENDPOINTS))
def test_every_list_answers_what_its_serializer_answers(name, rows, superuser, login, monkeypatch):
    client = login(superuser)
    url = reverse(name) + "?page_size=200"
    fast = client.get(url)
    assert fast.status_code == 200, fast.content[:500]
    monkeypatch.setattr(lists, "values_shape", lambda _cls: NoShape("the ordinary path"))
    ordinary = client.get(url)
    assert ordinary.status_code == 200
    assert fast.json() == ordinary.json()
    assert fast.json()["results"], "a list with rows compares something"


def test_the_hot_lists_take_the_fast_path():
    fast = {
        name
        for name, cls in LIST_ENDPOINTS.items()
        if isinstance(values_shape(cls.serializer_class), Shape)
    }
    assert {"dwelling-list", "building-list", "estate-list", "neighbourhood-list"} <= fast


def test_the_fast_path_builds_no_model_instances(rows, superuser, login, monkeypatch):
    built = []
    original = Dwelling.from_db.__func__

    def counting(cls, *args, **kwargs):
        built.append(cls)
        return original(cls, *args, **kwargs)

    client = login(superuser)
    monkeypatch.setattr(Dwelling, "from_db", classmethod(counting))
    response = client.get(reverse("dwelling-list"))
    assert response.status_code == 200 and len(response.json()["results"]) >= 2
    assert built == []


def test_owner_counts_are_counted_for_the_page_rows_only(rows, superuser, login):
    client = login(superuser)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("dwelling-list") + "?page_size=1")
    [row] = response.json()["results"]
    assert row["owner_count"] == Dwelling.objects.get(pk=row["id"]).owners.count()
    [page] = [q["sql"] for q in queries.captured_queries if "buildings_dwelling" in q["sql"]]
    assert "GROUP BY" not in page.upper()
    assert "LIMIT" in page.upper()


def test_a_dotted_source_through_an_empty_relation_is_left_out_as_drf_does():
    class Probe(serializers.ModelSerializer):
        company = serializers.CharField(source="property_company.name", read_only=True)

        class Meta:
            model = Estate
            fields = ["id", "company"]

    shape = values_shape(Probe)
    assert shape.rows([{"id": 1, "property_company__name": None, "property_company": None}]) == [
        {"id": 1}
    ]
    assert shape.rows([{"id": 2, "property_company__name": "物业", "property_company": 5}]) == [
        {"id": 2, "company": "物业"}
    ]


def test_a_method_field_or_a_property_keeps_the_ordinary_path():
    class WithMethod(serializers.ModelSerializer):
        extra = serializers.SerializerMethodField()

        class Meta:
            model = Dwelling
            fields = ["id", "extra"]

        def get_extra(self, obj):
            return 1

    class WithProperty(serializers.ModelSerializer):
        label = serializers.CharField(source="pk_label", read_only=True)

        class Meta:
            model = Dwelling
            fields = ["id", "label"]

    Dwelling.pk_label = property(lambda self: str(self.pk))
    try:
        assert isinstance(values_shape(WithMethod), NoShape)
        assert isinstance(values_shape(WithProperty), NoShape)
    finally:
        del Dwelling.pk_label
    assert isinstance(values_shape(DwellingViewSet.serializer_class), Shape)
