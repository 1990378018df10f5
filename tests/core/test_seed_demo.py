"""``manage.py seed_demo``: the normal demo, idempotent, with the five demo logins."""

import datetime
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import F
from django.test import RequestFactory, override_settings
from django.utils import timezone, translation

from accounts.models import RoleAssignment, User
from buildings.models import (
    Building,
    District,
    Dwelling,
    Elevator,
    ElevatorInspection,
    Estate,
    Neighbourhood,
    PropertyCompany,
    Subdistrict,
)
from core.demo import DEMO_PASSWORD, DemoContext, demo_modules
from core.scoping import scope_for

pytestmark = pytest.mark.django_db

MANAGE = "buildings.manage_neighbourhood"
HANDLE = "buildings.handle_issues"
COUNTED = [
    District,
    Subdistrict,
    Neighbourhood,
    Estate,
    Building,
    Dwelling,
    Elevator,
    ElevatorInspection,
    PropertyCompany,
    User,
    RoleAssignment,
    Dwelling.owners.through,
]


def seed(**options):
    out = StringIO()
    call_command("seed_demo", force=True, stdout=out, **options)
    return out.getvalue()


def counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_normal_scale_sizes_and_idempotent():
    output = seed()
    first = counts()
    assert first["District"] == 1
    assert first["Subdistrict"] == 2
    assert first["Neighbourhood"] == 4
    assert first["Estate"] == 10
    assert first["Building"] == 100
    assert first["Dwelling"] == 3000
    assert first["User"] == 5
    assert first["PropertyCompany"] >= 3
    assert first["Elevator"] > 0 and first["ElevatorInspection"] > 0
    assert "13800000002" in output  # the logins are listed

    seed()
    assert counts() == first


def test_denormalised_ids_and_realistic_values():
    seed()
    # bulk_create skips save(): the seed sets the denormalised ids itself
    for model in (Dwelling, Elevator):
        assert model.objects.count() > 0
        assert not model.objects.exclude(estate_id=F("building__estate_id")).exists()
        assert not model.objects.exclude(neighbourhood_id=F("building__neighbourhood_id")).exists()
    assert not Building.objects.exclude(neighbourhood_id=F("estate__neighbourhood_id")).exists()
    assert not ElevatorInspection.objects.exclude(
        neighbourhood_id=F("elevator__neighbourhood_id")
    ).exists()
    areas = list(Dwelling.objects.values_list("floor_area", flat=True))
    assert min(areas) >= 45 and max(areas) <= 140
    rooms = set(Dwelling.objects.filter(building__floors=6).values_list("room", flat=True))
    assert {"101", "604"} <= rooms
    assert Building.objects.filter(number="12号楼").exists()


def test_elevators_retrofitted_due_and_overdue():
    seed()
    today = timezone.localdate()
    soon = today + datetime.timedelta(days=30)
    assert Elevator.objects.filter(retrofitted=True).exists()
    assert Elevator.objects.filter(retrofitted=False).exists()
    assert Elevator.objects.filter(next_inspection_due__range=(today, soon)).exists()
    assert Elevator.objects.filter(next_inspection_due__lt=today).exists()
    # the last inspection on record is the elevator's last_inspection, a year before the due date
    elevator = Elevator.objects.filter(last_inspection__isnull=False).first()
    assert elevator.inspections.first().inspected_on == elevator.last_inspection
    assert elevator.next_inspection_due.year == elevator.last_inspection.year + 1


def test_demo_logins_roles_and_scopes():
    seed()
    n1, n2 = Neighbourhood.objects.order_by("pk")[:2]
    users = {u.phone: u for u in User.objects.all()}

    for phone in users:
        assert users[phone].check_password(DEMO_PASSWORD)
        assert users[phone].name  # a realistic display name

    root = users["13800000001"]
    assert root.is_superuser and root.is_staff

    cadre1, cadre2 = users["13800000002"], users["13800000003"]
    assert cadre1.is_staff and not cadre1.is_superuser
    assert scope_for(cadre1, MANAGE).neighbourhood_ids == {n1.pk}
    assert scope_for(cadre2, MANAGE).neighbourhood_ids == {n2.pk}

    resident = users["13800000004"]
    assert not resident.is_staff and not resident.is_superuser
    assert scope_for(resident, MANAGE).is_empty
    assert [d.neighbourhood_id for d in resident.owned_dwellings.all()] == [n1.pk]

    staff = users["13800000005"]
    assert staff.is_staff
    assert scope_for(staff, MANAGE).is_empty
    handle = scope_for(staff, HANDLE)
    assert len(handle.estate_ids) == 1
    assert Estate.objects.get(pk=next(iter(handle.estate_ids))).neighbourhood_id == n1.pk


def test_demo_login_authenticates_through_the_backends():
    seed()
    request = RequestFactory().post("/accounts/login/")
    user = authenticate(request, username="13800000002", password=DEMO_PASSWORD)
    assert user is not None and user.phone == "13800000002"


@override_settings(DEBUG=False)
def test_refuses_without_force_when_debug_is_off():
    with translation.override("en"), pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    assert not Neighbourhood.objects.exists()


@override_settings(DEBUG=True)
def test_runs_without_force_when_debug_is_on():
    call_command("seed_demo", stdout=StringIO())
    assert Neighbourhood.objects.count() == 4


def test_app_demo_modules_are_discovered_lowest_layer_first():
    labels = [label for label, _module in demo_modules()]
    assert labels.index("buildings") < labels.index("residents")
    assert "core" not in labels  # core.demo holds helpers only


def test_context_random_is_deterministic_per_unit():
    a, b = DemoContext(seed=1), DemoContext(seed=1)
    assert a.random("x").random() == b.random("x").random()
    assert a.random("x").random() != a.random("y").random()
