"""The cadre's registry admin: residents, households, care tags, history, identity reveal.

Cadre B (world.b.cadre) never reaches neighbourhood A's residents or households: 404
in change / history / delete / past-version / reveal views, absent from lists,
search, filters, form choices and autocomplete, untouched by bulk actions.
"""

from __future__ import annotations

import datetime
import itertools
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from core.models import AuditEvent
from residents.idnumbers import parse_id_number
from residents.models import CareTag, Household, Resident
from residents.services import resident_move
from tests.factories import (
    BuildingFactory,
    DwellingFactory,
    EstateFactory,
    HouseholdFactory,
    ResidentFactory,
    UserFactory,
    make_id_number,
)

pytestmark = pytest.mark.django_db

A_ID = make_id_number(901, birth=datetime.date(1940, 5, 6), region="110105")
B_ID = make_id_number(902, birth=datetime.date(1985, 1, 2), region="110105")
B2_ID = make_id_number(904, birth=datetime.date(1990, 7, 8), region="110105")
NEW_ID = make_id_number(903, birth=datetime.date(1930, 3, 3), region="110105")
A_PHONE, B_PHONE, B2_PHONE = "13812345678", "13911112222", "13733334444"
_numbers = itertools.count(100)


def rurl(model_name, view, *args):
    return reverse(f"admin:residents_{model_name}_{view}", args=args)


def body(response):
    return response.content.decode()


def names(response) -> set[str]:
    return {str(obj) for obj in response.context["cl"].result_list}


def filter_labels(response) -> set[str]:
    cl = response.context["cl"]
    return {str(choice["display"]) for spec in cl.filter_specs for choice in spec.choices(cl)}


@pytest.fixture
def reg(world):
    """A household with one resident in A; a household with two residents in B."""
    a_household = HouseholdFactory(dwelling=world.a.dwelling)
    a_resident = ResidentFactory(household=a_household, name="张山", id_number=A_ID, phone=A_PHONE)
    b_household = HouseholdFactory(dwelling=world.b.dwelling)
    b_resident = ResidentFactory(household=b_household, name="张伟", id_number=B_ID, phone=B_PHONE)
    b_other = ResidentFactory(
        household=b_household, name="李四", relation="spouse", id_number=B2_ID, phone=B2_PHONE
    )
    return SimpleNamespace(
        a_household=a_household,
        a_resident=a_resident,
        b_household=b_household,
        b_resident=b_resident,
        b_other=b_other,
    )


@pytest.fixture
def cadre_b(world, login):
    return login(world.b.cadre)


@pytest.fixture
def tag(db):
    return CareTag.objects.create(code="alone", name="独居老人")


def grant_reveal(user):
    user.user_permissions.add(Permission.objects.get(codename="view_full_identity"))


def resident_form(resident=None, **values):
    """POST data for the resident form (add when ``resident`` is None)."""
    data = {
        "name": "王五",
        "relation": "head",
        "id_type": "id_card",
        "id_number": "",
        "phone": "",
        "nationality": "CN",
        "residence_status": "registered",
        "moved_in": "",
        "notes": "",
    }
    if resident is None:
        data.update(gender="", birth_date="")
    else:
        data.update(
            name=resident.name,
            relation=resident.relation,
            id_type=resident.id_type,
            nationality=resident.nationality,
            residence_status=resident.residence_status,
            moved_out="",
            care_tags=[t.pk for t in resident.care_tags.all()],
        )
    data.update(values)
    return data


def check_message(value: str) -> str:
    with translation.override("zh-hans"):
        try:
            parse_id_number(value)
        except ValidationError as exc:
            return exc.messages[0]
    raise AssertionError(f"{value} is valid")


# --- 404 outside the scope --------------------------------------------------------------


@pytest.mark.parametrize("model_name", ["resident", "household"])
@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_other_neighbourhoods_registry_rows_are_404(reg, cadre_b, model_name, view):
    theirs = getattr(reg, f"a_{model_name}")
    ours = getattr(reg, f"b_{model_name}")
    assert cadre_b.get(rurl(model_name, view, theirs.pk)).status_code == 404
    # their own opens; nobody but a superuser deletes a person or a household
    assert cadre_b.get(rurl(model_name, view, ours.pk)).status_code == (
        403 if view == "delete" else 200
    )


@pytest.mark.parametrize("model_name", ["resident", "household"])
def test_posting_to_other_neighbourhoods_rows_is_404_and_changes_nothing(reg, cadre_b, model_name):
    theirs = getattr(reg, f"a_{model_name}")
    model = type(theirs)
    before = model.objects.filter(pk=theirs.pk).values().get()
    assert cadre_b.post(rurl(model_name, "change", theirs.pk), {"name": "x"}).status_code == 404
    assert cadre_b.post(rurl(model_name, "delete", theirs.pk), {"post": "yes"}).status_code == 404
    assert model.objects.filter(pk=theirs.pk).values().get() == before


@pytest.mark.parametrize("model_name", ["resident", "household"])
def test_past_versions_are_404_outside_the_scope_and_never_reverted(reg, cadre_b, model_name):
    theirs = getattr(reg, f"a_{model_name}")
    ours = getattr(reg, f"b_{model_name}")
    their_version = theirs.history.latest().history_id
    our_version = ours.history.latest().history_id

    def version(obj, history_id):
        return rurl(model_name, "simple_history", obj.pk, history_id)

    assert cadre_b.get(version(theirs, their_version)).status_code == 404
    response = cadre_b.get(version(ours, our_version))
    assert response.status_code == 200
    assert 'name="_save"' not in body(response)  # shown read-only, no revert button
    # a version id of another object does not open either
    assert cadre_b.get(version(ours, their_version)).status_code == 404
    # reverting is refused (writes go through the services)
    assert cadre_b.post(version(ours, our_version), {}).status_code == 405
    assert cadre_b.post(version(theirs, their_version), {}).status_code == 404


def test_superuser_sees_both_neighbourhoods(reg, login, superuser):
    client = login(superuser)
    assert names(client.get(rurl("resident", "changelist"))) == {"张山", "张伟", "李四"}
    assert len(client.get(rurl("household", "changelist")).context["cl"].result_list) == 2
    assert client.get(rurl("resident", "change", reg.a_resident.pk)).status_code == 200
    assert client.get(rurl("resident", "history", reg.a_resident.pk)).status_code == 200
    assert client.get(rurl("household", "change", reg.a_household.pk)).status_code == 200


# --- lists, filters, choices -------------------------------------------------------------------


def test_resident_list_shows_own_residents_masked(reg, cadre_b):
    response = cadre_b.get(rurl("resident", "changelist"))
    assert response.status_code == 200
    assert names(response) == {"张伟", "李四"}
    html = body(response)
    assert "张山" not in html and "甲花园" not in html
    assert reg.b_resident.masked_id in html and reg.b_resident.masked_phone in html
    for secret in (B_ID, B2_ID, B_PHONE, B2_PHONE, reg.b_resident.id_hash):
        assert secret not in html


def test_household_list_shows_own_households_with_member_count(reg, cadre_b):
    ResidentFactory(household=reg.b_household, name="张丽", relation="child")
    response = cadre_b.get(rurl("household", "changelist"))
    rows = list(response.context["cl"].result_list)
    assert rows == [reg.b_household]
    assert rows[0].member_total == 3
    assert rurl("household", "change", reg.a_household.pk) not in body(response)


def test_list_filters_offer_only_own_places(reg, cadre_b, world):
    # A second estate in B, so that the place filters have choices to show.
    estate = EstateFactory(neighbourhood=world.b.neighbourhood, name="乙新村")
    dwelling = DwellingFactory(building=BuildingFactory(estate=estate, number="5号楼"))
    ResidentFactory(household=HouseholdFactory(dwelling=dwelling), name="王芳")
    for model_name in ("resident", "household"):
        labels = filter_labels(cadre_b.get(rurl(model_name, "changelist")))
        assert {"乙花园", "乙新村", "乙花园 1号楼", "乙新村 5号楼"} <= labels
        assert not {label for label in labels if label.startswith("甲")}
    response = cadre_b.get(rurl("resident", "changelist"), {"estate__id__exact": estate.pk})
    assert names(response) == {"王芳"}
    response = cadre_b.get(
        rurl("household", "changelist"), {"building__id__exact": dwelling.building_id}
    )
    assert [h.dwelling for h in response.context["cl"].result_list] == [dwelling]


def test_care_tag_filter_offers_the_active_tags(reg, cadre_b, tag):
    # Care tags are reference data (one list for every place): the filter lists the
    # active ones without reading the scope's rows (tests/residents/test_changelist_scale.py).
    CareTag.objects.create(code="dibao", name="低保", active=False)
    reg.b_resident.care_tags.add(tag)
    labels = filter_labels(cadre_b.get(rurl("resident", "changelist")))
    assert "独居老人" in labels and "低保" not in labels
    response = cadre_b.get(rurl("resident", "changelist"), {"care_tags__id__exact": tag.pk})
    assert names(response) == {"张伟"}


def _born(age: int, today: datetime.date) -> datetime.date:
    return datetime.date(today.year - age, 1, 1)  # is exactly `age` all year


@pytest.mark.parametrize(
    ("band", "expected"),
    [
        ("0-17", {"十岁"}),
        ("18-59", {"三十岁", "张伟", "李四"}),
        ("60-79", {"七十岁"}),
        ("80-89", {"八十五岁", "明天九十岁"}),
        ("90-", {"九十五岁", "今天九十岁"}),
    ],
)
def test_age_band_filter(reg, cadre_b, world, band, expected):
    today = timezone.localdate()
    household = reg.b_household
    people = {"十岁": 10, "三十岁": 30, "七十岁": 70, "八十五岁": 85, "九十五岁": 95}
    for n, (name, age) in enumerate(people.items()):
        ResidentFactory(
            household=household,
            name=name,
            relation="other",
            id_number=make_id_number(700 + n, birth=_born(age, today)),
        )
    try:
        ninety = today.replace(year=today.year - 90)
    except ValueError:  # 29 February
        ninety = today.replace(year=today.year - 90, day=28)
    ResidentFactory(
        household=household,
        name="今天九十岁",
        relation="other",
        id_number=make_id_number(710, birth=ninety),
    )
    ResidentFactory(
        household=household,
        name="明天九十岁",
        relation="other",
        id_number=make_id_number(711, birth=ninety + datetime.timedelta(days=1)),
    )
    ResidentFactory(  # in A: never listed for cadre B
        household=reg.a_household,
        name="甲方九十五岁",
        relation="other",
        id_number=make_id_number(712, birth=_born(95, today)),
    )
    response = cadre_b.get(rurl("resident", "changelist"), {"age": band})
    assert names(response) == expected


def test_moved_out_residence_and_lives_alone_filters(reg, cadre_b):
    Resident.objects.filter(pk=reg.b_other.pk).update(
        moved_out=datetime.date(2025, 1, 1), residence_status="renting", lives_alone=True
    )
    url = rurl("resident", "changelist")
    assert names(cadre_b.get(url, {"moved_out": "yes"})) == {"李四"}
    assert names(cadre_b.get(url, {"moved_out": "no"})) == {"张伟"}
    assert names(cadre_b.get(url, {"residence_status__exact": "renting"})) == {"李四"}
    assert names(cadre_b.get(url, {"lives_alone__exact": "1"})) == {"李四"}
    assert names(cadre_b.get(url, {"gender__exact": reg.b_resident.gender})) >= {"张伟"}


def test_household_autocomplete_is_scoped_and_searches_members(reg, cadre_b):
    def results(term=""):
        response = cadre_b.get(
            reverse("admin:autocomplete"),
            {
                "app_label": "residents",
                "model_name": "resident",
                "field_name": "household",
                "term": term,
            },
        )
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert results() == {str(reg.b_household.pk)}
    assert results("lisi") == {str(reg.b_household.pk)}
    assert results("张山") == set()


def test_dwelling_autocomplete_for_households_is_scoped(world, cadre_b):
    response = cadre_b.get(
        reverse("admin:autocomplete"),
        {"app_label": "residents", "model_name": "household", "field_name": "dwelling"},
    )
    ids = {row["id"] for row in response.json()["results"]}
    assert str(world.b.dwelling.pk) in ids and str(world.a.dwelling.pk) not in ids


def test_head_choices_are_the_households_members(reg, cadre_b):
    response = cadre_b.get(rurl("household", "change", reg.b_household.pk))
    choices = set(response.context["adminform"].form.fields["head"].queryset)
    assert choices == {reg.b_resident, reg.b_other}


# --- one search box --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("张", {"张伟"}),
        ("张伟", {"张伟"}),
        ("zhangwei", {"张伟"}),
        ("zhang", {"张伟"}),
        ("zw", {"张伟"}),
        ("lisi", {"李四"}),
        ("ls", {"李四"}),
        (B_PHONE[-4:], {"张伟"}),
        (B2_ID[-4:], {"李四"}),
        (B_ID, {"张伟"}),
        (B_ID.lower(), {"张伟"}),
        (A_ID, set()),  # A's resident: never found by cadre B
        (A_PHONE[-4:], set()),
        ("张山", set()),
        ("zs", set()),
    ],
)
def test_resident_search_box(reg, cadre_b, term, expected):
    # a whole ID number is redirected to its search token (residents.search): follow it
    response = cadre_b.get(rurl("resident", "changelist"), {"q": term}, follow=True)
    assert names(response) == expected


def test_superuser_search_spans_neighbourhoods(reg, login, superuser):
    response = login(superuser).get(rurl("resident", "changelist"), {"q": "zhang"})
    assert names(response) == {"张山", "张伟"}


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("张伟", True),
        ("lisi", True),
        ("zw", True),
        (B2_PHONE[-4:], True),
        (B_ID, True),
        ("101", True),  # room
        ("1号楼", True),  # building number
        ("1号楼 101", True),
        ("1号楼 909", False),
        ("张山", False),  # A's member
        (A_ID, False),
    ],
)
def test_household_search_box(reg, cadre_b, term, found):
    response = cadre_b.get(rurl("household", "changelist"), {"q": term}, follow=True)
    assert list(response.context["cl"].result_list) == ([reg.b_household] if found else [])


def test_household_search_by_members_lists_each_household_once(reg, cadre_b):
    ResidentFactory(household=reg.b_household, name="张丽", relation="child")
    response = cadre_b.get(rurl("household", "changelist"), {"q": "张"})
    assert response.context["cl"].result_count == 1


# --- query counts --------------------------------------------------------------------------------


def _grow_residents(world, tag, n):
    for _i in range(n):
        building = BuildingFactory(estate=world.b.estate, number=f"{next(_numbers)}号楼")
        household = HouseholdFactory(dwelling=DwellingFactory(building=building))
        ResidentFactory(household=household, care_tags=[tag])
        ResidentFactory(household=household, relation="child")


@pytest.mark.parametrize("model_name", ["resident", "household"])
def test_changelist_query_count_is_fixed(
    world, cadre_b, tag, django_assert_max_num_queries, model_name
):
    url = rurl(model_name, "changelist")
    _grow_residents(world, tag, 2)
    cadre_b.get(url)  # warm caches
    with CaptureQueriesContext(connection) as few:
        small = cadre_b.get(url)
    _grow_residents(world, tag, 13)
    with django_assert_max_num_queries(len(few.captured_queries)):
        big = cadre_b.get(url)
    assert big.context["cl"].result_count == small.context["cl"].result_count + 13 * (
        2 if model_name == "resident" else 1
    )


def test_history_query_count_is_fixed(reg, cadre_b, world, django_assert_max_num_queries):
    resident = reg.b_resident
    url = rurl("resident", "history", resident.pk)

    def move(n):
        for _i in range(n):
            household = HouseholdFactory(dwelling=DwellingFactory(building=world.b.building))
            resident_move(
                resident=Resident.objects.get(pk=resident.pk),
                household=household,
                moved_on=timezone.localdate(),
            )

    move(2)
    cadre_b.get(url)
    with CaptureQueriesContext(connection) as few:
        cadre_b.get(url)
    move(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = cadre_b.get(url)
    assert response.context["page_obj"].paginator.count >= 12


# --- forms go through the services ----------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        B_ID[:17] + ("0" if B_ID[17] != "0" else "1"),  # check digit
        B_ID[:16],  # length
        B_ID[:10] + "1399" + B_ID[14:],  # no such date
    ],
)
def test_invalid_id_number_shows_the_precise_error_and_saves_nothing(reg, cadre_b, bad):
    before = Resident.objects.count()
    histories = Resident.history.count()
    response = cadre_b.post(
        rurl("resident", "add"),
        resident_form(household=reg.b_household.pk, id_number=bad, phone="13600000000"),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["id_number"] == [check_message(bad)]
    assert Resident.objects.count() == before
    assert Resident.history.count() == histories


def test_duplicate_id_number_is_a_form_error(reg, cadre_b):
    response = cadre_b.post(
        rurl("resident", "add"), resident_form(household=reg.b_household.pk, id_number=B_ID)
    )
    assert response.status_code == 200
    assert "id_number" in response.context["adminform"].form.errors
    assert not Resident.objects.filter(name="王五").exists()


def test_invalid_phone_is_a_form_error(reg, cadre_b):
    response = cadre_b.post(
        rurl("resident", "add"), resident_form(household=reg.b_household.pk, phone="12345")
    )
    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert not Resident.objects.filter(name="王五").exists()


def test_adding_a_resident_goes_through_the_service(reg, cadre_b, world, tag):
    response = cadre_b.post(
        rurl("resident", "add"),
        resident_form(
            household=reg.b_household.pk,
            relation="parent",
            id_number=NEW_ID.lower(),
            phone="136 0000 0000",
            care_tags=[tag.pk],
        ),
    )
    assert response.status_code == 302
    resident = Resident.objects.get(name="王五")
    assert resident.decrypt_identifier() == NEW_ID
    assert resident.decrypt_phone() == "13600000000"
    assert resident.birth_date == datetime.date(1930, 3, 3)  # from the number
    assert resident.gender == "M"
    assert resident.neighbourhood_id == world.b.neighbourhood.pk
    assert list(resident.care_tags.all()) == [tag]
    # validating ran the service in a savepoint that was rolled back: one history row
    assert resident.history.count() == 1
    assert resident.history.get().history_user == world.b.cadre


def test_a_household_outside_the_scope_is_refused(reg, cadre_b):
    response = cadre_b.post(
        rurl("resident", "add"), resident_form(household=reg.a_household.pk, id_number=NEW_ID)
    )
    assert response.status_code == 200
    assert "household" in response.context["adminform"].form.errors
    assert not Resident.objects.filter(name="王五").exists()


def test_change_form_never_holds_the_full_identifiers(reg, cadre_b):
    response = cadre_b.get(rurl("resident", "change", reg.b_resident.pk))
    html = body(response)
    form = response.context["adminform"].form
    assert form["id_number"].value() in (None, "")
    assert form["phone"].value() in (None, "")
    assert reg.b_resident.masked_id in html and reg.b_resident.masked_phone in html
    for secret in (B_ID, B_PHONE, reg.b_resident.id_hash, reg.b_resident.id_encrypted):
        assert secret not in html


def test_changing_keeps_identifiers_left_empty(reg, cadre_b):
    resident = reg.b_resident
    response = cadre_b.post(
        rurl("resident", "change", resident.pk), resident_form(resident, name="张卫")
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.name == "张卫"
    assert resident.decrypt_identifier() == B_ID and resident.decrypt_phone() == B_PHONE


def test_an_invalid_new_id_number_loses_nothing_already_saved(reg, cadre_b):
    resident = reg.b_resident
    bad = NEW_ID[:17] + ("0" if NEW_ID[17] != "0" else "1")
    response = cadre_b.post(
        rurl("resident", "change", resident.pk),
        resident_form(resident, name="张卫", id_number=bad, phone="13600000000"),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["id_number"] == [check_message(bad)]
    resident = Resident.objects.get(pk=resident.pk)
    assert resident.name == "张伟"
    assert resident.decrypt_identifier() == B_ID and resident.decrypt_phone() == B_PHONE


def test_replacing_the_id_number_refills_birth_date(reg, cadre_b):
    resident = reg.b_resident
    response = cadre_b.post(
        rurl("resident", "change", resident.pk), resident_form(resident, id_number=NEW_ID)
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.decrypt_identifier() == NEW_ID
    assert resident.birth_date == datetime.date(1930, 3, 3)


def test_history_lists_a_change_made_through_the_form_with_its_author(reg, cadre_b):
    resident = reg.b_resident
    cadre_b.post(
        rurl("resident", "change", resident.pk),
        resident_form(resident, name="张卫", phone="13600009999"),
    )
    response = cadre_b.get(rurl("resident", "history", resident.pk))
    assert response.status_code == 200
    html = body(response)
    assert "乙干部" in html  # who
    assert "张卫" in html and "9999" in html  # what
    latest = Resident.history.filter(id=resident.pk).latest()
    assert latest.history_user.name == "乙干部"
    resident.refresh_from_db()
    for secret in (
        B_ID,
        B_PHONE,
        "13600009999",
        resident.id_hash,
        resident.phone_hash,
        resident.phone_encrypted,
    ):
        assert secret not in html


# --- full identity: POST, permission, scope, audit ------------------------------------------


def test_reveal_button_only_for_holders_of_the_permission(reg, world, cadre_b):
    url = rurl("resident", "reveal_identity", reg.b_resident.pk)
    assert url not in body(cadre_b.get(rurl("resident", "change", reg.b_resident.pk)))
    grant_reveal(world.b.cadre)
    html = body(cadre_b.get(rurl("resident", "change", reg.b_resident.pk)))
    assert url in html and 'method="post"' in html


def test_reveal_outside_the_scope_is_404_even_with_the_permission(reg, world, cadre_b):
    grant_reveal(world.b.cadre)
    response = cadre_b.post(rurl("resident", "reveal_identity", reg.a_resident.pk))
    assert response.status_code == 404
    assert A_ID not in body(response)
    assert not AuditEvent.objects.filter(action="identity_revealed").exists()


def test_reveal_without_the_permission_is_403(reg, cadre_b):
    response = cadre_b.post(rurl("resident", "reveal_identity", reg.b_resident.pk))
    assert response.status_code == 403
    assert B_ID not in body(response)
    assert not AuditEvent.objects.filter(action="identity_revealed").exists()


def test_reveal_is_never_a_get(reg, world, cadre_b):
    grant_reveal(world.b.cadre)
    response = cadre_b.get(rurl("resident", "reveal_identity", reg.b_resident.pk))
    assert response.status_code == 405
    assert not AuditEvent.objects.exists()


def test_reveal_shows_the_numbers_once_and_is_audited(reg, world, cadre_b):
    grant_reveal(world.b.cadre)
    response = cadre_b.post(
        rurl("resident", "reveal_identity", reg.b_resident.pk), REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 200
    html = body(response)
    assert B_ID in html and B_PHONE in html
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="identity_revealed")
    assert event.actor == world.b.cadre
    assert event.target_id == reg.b_resident.pk
    assert event.neighbourhood_id == world.b.neighbourhood.pk
    assert event.ip_address == "10.1.2.3"
    assert event.params["fields"] == ["id_number", "phone"]


def test_superuser_may_reveal_anywhere(reg, login, superuser):
    response = login(superuser).post(rurl("resident", "reveal_identity", reg.a_resident.pk))
    assert response.status_code == 200
    assert A_ID in body(response)
    assert AuditEvent.objects.filter(actor=superuser, target_id=reg.a_resident.pk).count() == 1


# --- bulk actions --------------------------------------------------------------------------------


def test_add_care_tags_asks_then_tags_only_residents_in_scope(reg, cadre_b, tag):
    url = rurl("resident", "changelist")
    selected = [reg.a_resident.pk, reg.b_resident.pk]
    response = cadre_b.post(
        url, {"action": "add_care_tags", "index": 0, "_selected_action": selected}
    )
    assert response.status_code == 200  # the page that asks which tags
    assert response.context["count"] == 1
    assert "张伟" in body(response) and "张山" not in body(response)
    response = cadre_b.post(
        url,
        {
            "action": "add_care_tags",
            "select_across": "0",
            "_selected_action": selected,
            "tags": [tag.pk],
            "apply": "1",
        },
    )
    assert response.status_code == 302
    assert list(reg.b_resident.care_tags.all()) == [tag]
    assert not reg.b_other.care_tags.exists()
    assert not reg.a_resident.care_tags.exists()


def test_add_care_tags_across_all_pages_stays_in_scope(reg, cadre_b, tag):
    response = cadre_b.post(
        rurl("resident", "changelist"),
        {
            "action": "add_care_tags",
            "select_across": "1",
            "_selected_action": [reg.b_resident.pk],
            "tags": [tag.pk],
            "apply": "1",
        },
    )
    assert response.status_code == 302
    assert set(tag.residents.all()) == {reg.b_resident, reg.b_other}


def test_add_care_tags_without_a_tag_asks_again(reg, cadre_b):
    response = cadre_b.post(
        rurl("resident", "changelist"),
        {"action": "add_care_tags", "_selected_action": [reg.b_resident.pk], "apply": "1"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors


def test_mark_moved_out_acts_only_in_scope(reg, cadre_b, world):
    response = cadre_b.post(
        rurl("resident", "changelist"),
        {
            "action": "mark_moved_out",
            "index": 0,
            "_selected_action": [reg.a_resident.pk, reg.b_resident.pk],
        },
    )
    assert response.status_code == 302
    assert Resident.objects.get(pk=reg.b_resident.pk).moved_out == timezone.localdate()
    assert Resident.objects.get(pk=reg.a_resident.pk).moved_out is None
    assert Resident.objects.get(pk=reg.b_other.pk).moved_out is None
    latest = Resident.history.filter(id=reg.b_resident.pk).latest()
    assert latest.history_user == world.b.cadre


def test_no_bulk_delete_of_people_or_households(reg, cadre_b, login, superuser):
    for client in (cadre_b, login(superuser)):
        for model_name in ("resident", "household"):
            response = client.get(rurl(model_name, "changelist"))
            action_form = response.context["action_form"]
            choices = dict(action_form.fields["action"].choices) if action_form else {}
            assert "delete_selected" not in choices


# --- households ----------------------------------------------------------------------------------


def test_household_page_lists_members_masked_with_links(reg, cadre_b):
    response = cadre_b.get(rurl("household", "change", reg.b_household.pk))
    html = body(response)
    assert "张伟" in html and "李四" in html
    assert reg.b_resident.masked_id in html
    assert rurl("resident", "change", reg.b_resident.pk) in html
    for secret in (B_ID, B2_ID, B_PHONE, B2_PHONE):
        assert secret not in html


def _household_form(**values):
    data = {
        "tenure": "owner",
        "moved_in": "",
        "notes": "",
        "members-TOTAL_FORMS": "0",
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "0",
    }
    data.update(values)
    return data


def test_adding_a_household_goes_through_the_service(world, cadre_b):
    dwelling = DwellingFactory(building=world.b.building, room="202")
    response = cadre_b.post(
        rurl("household", "add"), _household_form(dwelling=dwelling.pk, tenure="tenant")
    )
    assert response.status_code == 302
    household = Household.objects.get(dwelling=dwelling)
    assert household.tenure == "tenant"
    assert household.neighbourhood_id == world.b.neighbourhood.pk
    assert household.history.get().history_user == world.b.cadre


def test_adding_a_household_in_another_neighbourhood_is_refused(world, cadre_b):
    dwelling = DwellingFactory(building=world.a.building, room="202")
    response = cadre_b.post(rurl("household", "add"), _household_form(dwelling=dwelling.pk))
    assert response.status_code == 200
    assert "dwelling" in response.context["adminform"].form.errors
    assert not Household.objects.filter(dwelling=dwelling).exists()


def test_changing_the_head_through_the_form(reg, cadre_b, world):
    household = reg.b_household
    response = cadre_b.get(rurl("household", "change", household.pk))
    prefix = response.context["inline_admin_formsets"][0].formset.prefix
    data = _household_form(head=reg.b_other.pk, notes="二楼")
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "2",
            f"{prefix}-INITIAL_FORMS": "2",
            f"{prefix}-0-id": reg.b_resident.pk,
            f"{prefix}-0-household": household.pk,
            f"{prefix}-1-id": reg.b_other.pk,
            f"{prefix}-1-household": household.pk,
        }
    )
    response = cadre_b.post(rurl("household", "change", household.pk), data)
    assert response.status_code == 302
    household.refresh_from_db()
    assert household.head == reg.b_other and household.notes == "二楼"
    assert Resident.objects.get(pk=reg.b_other.pk).relation == "head"
    history = body(cadre_b.get(rurl("household", "history", household.pk)))
    assert "乙干部" in history and "二楼" in history


def test_a_head_from_another_household_is_refused(reg, cadre_b):
    household = reg.b_household
    other = ResidentFactory(
        household=HouseholdFactory(dwelling=DwellingFactory(building=household.building))
    )
    response = cadre_b.post(
        rurl("household", "change", household.pk),
        _household_form(
            head=other.pk, **{"members-TOTAL_FORMS": "0", "members-INITIAL_FORMS": "0"}
        ),
    )
    assert response.status_code == 200
    assert "head" in response.context["adminform"].form.errors
    household.refresh_from_db()
    assert household.head == reg.b_resident


# --- dwelling history (buildings admin) ---------------------------------------------


def test_dwelling_history_shows_who_changed_what(world, cadre_b):
    dwelling = world.b.dwelling
    url = reverse("admin:buildings_dwelling_change", args=[dwelling.pk])
    response = cadre_b.post(
        url, {"room": "808", "floor": dwelling.floor, "floor_area": "80.00", "owners": ""}
    )
    assert response.status_code == 302
    html = body(cadre_b.get(reverse("admin:buildings_dwelling_history", args=[dwelling.pk])))
    assert "乙干部" in html and "808" in html
    their_version = world.a.dwelling.history.latest().history_id
    theirs = reverse(
        "admin:buildings_dwelling_simple_history", args=[world.a.dwelling.pk, their_version]
    )
    assert cadre_b.get(theirs).status_code == 404
    ours = reverse(
        "admin:buildings_dwelling_simple_history",
        args=[dwelling.pk, dwelling.history.latest().history_id],
    )
    response = cadre_b.get(ours)
    assert response.status_code == 200 and "808" in body(response)
    assert cadre_b.post(ours, {"room": "909"}).status_code == 405


# --- care tags ----------------------------------------------------------------------


def test_cadres_view_care_tags_superusers_manage_them(world, cadre_b, tag, login, superuser):
    url = reverse("admin:residents_caretag_changelist")
    assert cadre_b.get(url).status_code == 200
    assert cadre_b.get(reverse("admin:residents_caretag_add")).status_code == 403
    change = reverse("admin:residents_caretag_change", args=[tag.pk])
    response = cadre_b.post(change, {"code": "x", "name": "改名", "sort_order": 0})
    assert response.status_code == 403
    tag.refresh_from_db()
    assert tag.name == "独居老人"
    response = login(superuser).post(
        reverse("admin:residents_caretag_add"),
        {"code": "veteran", "name": "退役军人", "description": "", "sort_order": 5, "active": "on"},
    )
    assert response.status_code == 302
    assert CareTag.objects.filter(code="veteran").exists()


def test_staff_without_a_place_see_no_registry(world, login):
    staff = UserFactory(is_staff=True)
    client = login(staff)
    for model_name in ("resident", "household", "caretag"):
        assert client.get(rurl(model_name, "changelist")).status_code == 403


def test_resident_list_links_to_the_excel_pages_with_its_filters(reg, cadre_b):
    response = cadre_b.get(rurl("resident", "changelist"), {"age": "90-", "q": "zw", "o": "1"})
    export_url = response.context["export_url"]
    assert export_url.startswith(reverse("registry:export") + "?")
    assert "age=90-" in export_url and "q=zw" in export_url and "o=" not in export_url
    assert reverse("registry:import") in body(response)
