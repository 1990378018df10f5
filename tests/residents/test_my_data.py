"""个人信息保护法: a resident sees and downloads what Linli holds about them; a cadre
anonymises a resident who asks to be removed."""

import datetime
import io
import json
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.models import AuditEvent
from residents import events
from residents.models import CareTag, Relation, Resident, VisitorDeclaration
from residents.services import resident_reveal_identity, visitor_declare
from tests.factories import HouseholdFactory, ResidentFactory, UserFactory, make_id_number

MY_ID = make_id_number(8101)
SPOUSE_ID = make_id_number(8102)


@pytest.fixture
def home(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    account = UserFactory(verified=True, name="小张")
    tag = CareTag.objects.create(code="party", name="党员")
    me = ResidentFactory(
        household=household, name="张三", id_number=MY_ID, phone="13700001234", care_tags=[tag]
    )
    me.user = account
    me.save()
    spouse = ResidentFactory(
        household=household,
        name="李四",
        id_number=SPOUSE_ID,
        phone="13700005678",
        relation=Relation.SPOUSE,
    )
    return SimpleNamespace(household=household, me=me, spouse=spouse, account=account, tag=tag)


def _declare(household, by, name="王访客"):
    today = timezone.localdate()
    return visitor_declare(
        household=household,
        name=name,
        id_number=make_id_number(8200),
        phone="13912345678",
        arrives_on=today,
        leaves_on=today + datetime.timedelta(days=3),
        reason="探亲",
        by=by,
    )


def _reveal_by_cadre(world, resident):
    from django.contrib.auth.models import Permission

    cadre = world.a.cadre
    cadre.user_permissions.add(Permission.objects.get(codename="view_full_identity"))
    cadre = type(cadre).objects.get(pk=cadre.pk)  # fresh permission cache
    resident_reveal_identity(user=cadre, resident=resident, ip="10.1.1.1")


# --- the page ---------------------------------------------------------------------------------


def test_a_verified_resident_sees_what_is_held_about_them(home, world, login):
    _declare(home.household, home.account)
    _reveal_by_cadre(world, home.me)
    response = login(home.account).get(reverse("me:data"))
    assert response.status_code == 200
    html = response.content.decode()
    # their record, masked
    assert "张三" in html
    assert home.me.masked_id in html
    assert home.me.masked_phone in html
    assert MY_ID not in html
    assert "13700001234" not in html
    assert "党员" in html
    assert world.a.estate.name in html
    # the household's members: names and relations, never their identifiers
    assert "李四" in html
    assert str(Relation.SPOUSE.label) in html or "配偶" in html
    assert home.spouse.masked_id not in html
    assert home.spouse.masked_phone not in html
    assert SPOUSE_ID not in html
    # the visitors they declared
    assert "王访客" in html
    # who saw their full ID, and when
    data = response.context["data"]
    reveal = [e for e in data["audit_events"] if e["by"] == str(world.a.cadre)]
    assert len(reveal) == 1
    assert reveal[0]["fields"]
    assert "10.1.1.1" not in html  # the cadre's address is not theirs to see


def test_an_unverified_account_sees_its_account_only(world, login):
    user = UserFactory(verified=False)
    response = login(user).get(reverse("me:data"))
    assert response.status_code == 200
    data = response.context["data"]
    assert data["account"]["mobile_number"] == user.phone
    assert data["resident"] is None and data["household"] is None
    assert reverse("me:verify") in response.content.decode()


def test_the_page_needs_a_signed_in_user(client, db):
    response = client.get(reverse("me:data"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_json_download_holds_the_same(home, world, login):
    _declare(home.household, home.account)
    _reveal_by_cadre(world, home.me)
    response = login(home.account).get(reverse("me:data_json"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment")
    body = response.content.decode()
    assert MY_ID not in body
    assert SPOUSE_ID not in body
    data = json.loads(body)
    assert data["resident"]["name"] == "张三"
    assert data["resident"]["id_number"] == home.me.masked_id
    assert data["resident"]["care_tags"] == ["党员"]
    assert {m["name"] for m in data["household"]["members"]} == {"张三", "李四"}
    assert all(
        set(m) == {"name", "relation_to_head", "moved_out", "is_you"}
        for m in data["household"]["members"]
    )
    assert [v["name"] for v in data["visitor_declarations"]] == ["王访客"]
    assert any(e["by"] == str(world.a.cadre) for e in data["audit_events"])


def test_the_excel_download_holds_the_same(home, world, login):
    _declare(home.household, home.account)
    response = login(home.account).get(reverse("me:data_xlsx"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    assert {"account", "resident", "household", "members", "visitor_declarations"} <= set(
        workbook.sheetnames
    )
    resident = {row[0]: row[1] for row in workbook["resident"].iter_rows(values_only=True)}
    assert resident["name"] == "张三"
    assert resident["id_number"] == home.me.masked_id
    members = list(workbook["members"].iter_rows(values_only=True))
    assert members[0][0] == "name"
    assert {row[0] for row in members[1:]} == {"张三", "李四"}


def test_someone_elses_declarations_are_not_shown(home, world, login):
    _declare(home.household, UserFactory(), name="别人申报的")
    data = login(home.account).get(reverse("me:data")).context["data"]
    assert data["visitor_declarations"] == []


def test_the_page_has_a_fixed_query_count(home, world, login, django_assert_max_num_queries):
    client = login(home.account)
    url = reverse("me:data")
    client.get(url)
    with django_assert_max_num_queries(15) as few:
        assert client.get(url).status_code == 200
    for i in range(10):
        ResidentFactory(household=home.household, name=f"孩子{i}", relation=Relation.CHILD)
        _declare(home.household, home.account, name=f"访客{i}")
        _reveal_by_cadre(world, home.me)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["data"]["household"]["members"]) == 12
    assert len(response.context["data"]["visitor_declarations"]) == 10


# --- anonymising ----------------------------------------------------------------------------------


def test_the_cadre_anonymises_after_confirming(home, world, login):
    client = login(world.a.cadre)
    url = reverse("registry:resident_anonymise", args=[home.me.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "张三" in page.content.decode()

    unconfirmed = client.post(url, {})
    assert unconfirmed.status_code == 400
    home.me.refresh_from_db()
    assert home.me.anonymised_at is None

    birth = home.me.birth_date
    response = client.post(url, {"confirm": "on"})
    assert response.status_code == 302
    home.me.refresh_from_db()
    assert home.me.anonymised_at is not None
    assert home.me.name != "张三"
    assert (home.me.id_encrypted, home.me.id_last4, home.me.phone_encrypted) == ("", "", "")
    assert home.me.user is None
    # statistics kept
    assert home.me.birth_date.year == birth.year
    assert home.me.gender
    assert home.me.dwelling == world.a.dwelling
    assert list(home.me.care_tags.all()) == [home.tag]
    # the account is no longer verified
    home.account.refresh_from_db()
    assert home.account.verified is False
    event = AuditEvent.objects.get(action=events.RESIDENT_ANONYMISED)
    assert (event.actor, event.target_id) == (world.a.cadre, home.me.pk)
    # the page now says it is done, and a second POST changes nothing
    done = client.get(url)
    assert "data-anonymised" in done.content.decode()
    client.post(url, {"confirm": "on"})
    assert AuditEvent.objects.filter(action=events.RESIDENT_ANONYMISED).count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_neighbourhoods_cadre_gets_404_on_anonymise(home, world, login, method):
    client = login(world.b.cadre)
    url = reverse("registry:resident_anonymise", args=[home.me.pk])
    response = getattr(client, method)(url, {"confirm": "on"} if method == "post" else None)
    assert response.status_code == 404
    home.me.refresh_from_db()
    assert home.me.anonymised_at is None
    assert Resident.objects.filter(name="张三").exists()


def test_a_resident_cannot_anonymise(home, login):
    response = login(home.account).post(
        reverse("registry:resident_anonymise", args=[home.spouse.pk]), {"confirm": "on"}
    )
    assert response.status_code == 404


def test_the_me_page_shows_status_and_link(home, login):
    html = login(home.account).get(reverse("me:home")).content.decode()
    assert "张三" in html
    assert "/visit/" in html
    unverified = login(UserFactory(verified=False)).get(reverse("me:home")).content.decode()
    assert reverse("me:verify") in unverified
    assert "/visit/" not in unverified
    assert VisitorDeclaration.objects.count() == 0
