"""The scoped admin's last line of defence, through real admin POSTs.

The admin forms only offer places inside the cadre's scope, so a forged parent
id is normally refused by the form (see tests/buildings/test_admin_scoping.py).
Behind that, ``ScopedModelAdmin.save_related`` checks, inside the admin's
transaction, that the saved object is still in the scope: if the choices were
ever too wide (a regression, a new field, a widget that skips the queryset), a
forged parent id is a 404 and nothing is saved.

These tests widen the choices of the admin under test on purpose (every row of
the related model is offered) and POST a forged parent from neighbourhood B as
cadre A. A control POST with a parent inside A's scope must save, so that the
404 can only come from the scope check.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib import admin
from django.urls import reverse

from buildings.models import Building, Dwelling, Elevator, Estate

pytestmark = pytest.mark.django_db


def _admin_url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


@pytest.fixture
def widened(monkeypatch):
    """Offer every row as a choice in ``model``'s admin (the form no longer refuses)."""

    def _widen(model):
        model_admin = admin.site.get_model_admin(model)
        monkeypatch.setattr(
            model_admin,
            "scoped_choices",
            lambda request, related: related._default_manager.all(),
        )
        return model_admin

    return _widen


def _value(value):
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _form_data(form) -> dict:
    """What a browser would post for ``form`` as rendered (unbound, initial values)."""
    data = {}
    for bound in form:
        value = bound.value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, (list, tuple)):
            data[bound.html_name] = [_value(v) for v in value]
        else:
            data[bound.html_name] = _value(value)
    return data


def _change_form_data(client, url) -> dict:
    """The change form's current values, inlines and management forms included."""
    response = client.get(url)
    assert response.status_code == 200
    data = _form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        for form in formset.forms:
            data.update(_form_data(form))
    data["_save"] = "Save"
    return data


def _estate_snapshot(estate):
    return {
        "estate": Estate.objects.filter(pk=estate.pk).values("neighbourhood_id", "name").get(),
        "buildings": sorted(
            Building.objects.filter(estate=estate).values_list("pk", "number", "neighbourhood_id")
        ),
        "dwellings": sorted(
            Dwelling.objects.filter(estate=estate).values_list("pk", "neighbourhood_id")
        ),
        "elevators": sorted(
            Elevator.objects.filter(estate=estate).values_list("pk", "neighbourhood_id")
        ),
    }


# --- change: moving A's estate (and its inline buildings) into neighbourhood B ----------------


def test_the_post_data_is_valid_and_saves_inside_the_scope(world, login, widened):
    widened(Estate)
    estate = world.a.estate
    client = login(world.a.cadre)
    url = _admin_url(Estate, "change", estate.pk)
    data = _change_form_data(client, url)
    assert data["neighbourhood"] == str(world.a.neighbourhood.pk)
    data["name"] = "甲花园（新）"
    data["buildings-0-number"] = "1号楼A"

    response = client.post(url, data)

    assert response.status_code == 302, getattr(response, "context", None) and [
        response.context["adminform"].form.errors,
        [f.errors for f in response.context["inline_admin_formsets"][0].formset],
    ]
    estate.refresh_from_db()
    assert estate.name == "甲花园（新）"
    world.a.building.refresh_from_db()
    assert world.a.building.number == "1号楼A"


def test_a_forged_parent_on_the_change_form_is_404_and_nothing_is_saved(world, login, widened):
    widened(Estate)
    estate = world.a.estate
    before = _estate_snapshot(estate)
    client = login(world.a.cadre)
    url = _admin_url(Estate, "change", estate.pk)
    data = _change_form_data(client, url)
    data["neighbourhood"] = str(world.b.neighbourhood.pk)  # forged: B's neighbourhood
    data["name"] = "被搬走的小区"
    data["buildings-0-number"] = "1号楼A"  # an inline change in the same POST

    response = client.post(url, data)

    assert response.status_code == 404
    assert _estate_snapshot(estate) == before
    assert not Estate.objects.filter(neighbourhood=world.b.neighbourhood, name="被搬走的小区")
    assert not Building.objects.filter(number="1号楼A").exists()


# --- add: a new row whose parent is in neighbourhood B ----------------------------------------


def _estate_add_data(neighbourhood, name):
    return {
        "neighbourhood": neighbourhood.pk,
        "name": name,
        "address": "",
        "property_company": "",
        "built_year": "",
        "latitude": "",
        "longitude": "",
        "buildings-TOTAL_FORMS": 1,
        "buildings-INITIAL_FORMS": 0,
        "buildings-MIN_NUM_FORMS": 0,
        "buildings-MAX_NUM_FORMS": 1000,
        "buildings-0-number": "8号楼",
        "buildings-0-floors": 6,
        "buildings-0-built_year": "",
        "_save": "Save",
    }


def _dwelling_add_data(building, room):
    return {"building": building.pk, "room": room, "floor": 9, "floor_area": "60.00", "_save": "1"}


@pytest.mark.parametrize(
    ("model", "post_data", "created"),
    [
        pytest.param(
            Estate,
            lambda side: _estate_add_data(side.neighbourhood, "新建小区"),
            lambda: (
                Estate.objects.filter(name="新建小区").exists()
                or Building.objects.filter(number="8号楼").exists()
            ),
            id="estate-with-inline-building",
        ),
        pytest.param(
            Dwelling,
            lambda side: _dwelling_add_data(side.building, "909"),
            lambda: Dwelling.objects.filter(room="909").exists(),
            id="dwelling",
        ),
    ],
)
def test_a_forged_parent_on_the_add_form_is_404_and_nothing_is_saved(
    world, login, widened, model, post_data, created
):
    widened(model)
    client = login(world.a.cadre)
    url = _admin_url(model, "add")

    response = client.post(url, post_data(world.b))
    assert response.status_code == 404
    assert not created()

    # control: the same POST with A's own parent saves
    response = client.post(url, post_data(world.a))
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    assert created()
