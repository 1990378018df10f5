"""外来人员信息申报: the household's link, the public and resident forms, the cadre's
scoped list with confirm / reject, and the daily purge of personal fields."""

import datetime
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core.crypto import cipher
from core.models import AuditEvent
from residents.models import IdType, VisitorDeclaration
from residents.services import (
    visitor_declaration_review,
    visitor_declarations_purge,
    visitor_declare,
    visitor_link_rotate,
)
from residents.services.visitors import (
    PURGED_NAME,
    VISITOR_DECLARATION_REVIEWED,
    household_for_visitor_token,
    visitor_link_token,
)
from residents.tasks import purge_visitor_declarations
from tests.factories import (
    BuildingFactory,
    DwellingFactory,
    EstateFactory,
    HouseholdFactory,
    ResidentFactory,
    UserFactory,
    make_id_number,
)

VISITOR_ID = make_id_number(7001)


@pytest.fixture
def home(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    account = UserFactory(verified=True)
    resident = ResidentFactory(household=household, name="张三")
    resident.user = account
    resident.save()
    return SimpleNamespace(household=household, resident=resident, account=account)


def _form(**changes):
    today = timezone.localdate()
    data = {
        "name": "王访客",
        "id_type": IdType.RESIDENT_ID,
        "id_number": VISITOR_ID,
        "phone": "13912345678",
        "arrives_on": today.isoformat(),
        "leaves_on": (today + datetime.timedelta(days=10)).isoformat(),
        "reason": "探亲",
    }
    data.update(changes)
    return data


def _declare(household, *, leaves_in=10, arrives_in=0, name="王访客", today=None, **kwargs):
    today = today or timezone.localdate()
    return visitor_declare(
        household=household,
        name=name,
        id_type=kwargs.pop("id_type", IdType.RESIDENT_ID),
        id_number=kwargs.pop("id_number", VISITOR_ID),
        phone=kwargs.pop("phone", "13912345678"),
        arrives_on=today + datetime.timedelta(days=arrives_in),
        leaves_on=today + datetime.timedelta(days=leaves_in),
        reason=kwargs.pop("reason", "探亲"),
        today=today,
        **kwargs,
    )


# --- the link ---------------------------------------------------------------------------------


def test_the_link_names_the_household_until_it_is_replaced(home, world):
    token = visitor_link_token(home.household)
    assert household_for_visitor_token(token) == home.household
    assert household_for_visitor_token(token + "x") is None
    assert household_for_visitor_token("not-a-token") is None
    # the same household's token is stable until rotated
    assert visitor_link_token(home.household) == token

    new = visitor_link_rotate(household=home.household, by=home.account)
    assert new != token
    assert household_for_visitor_token(token) is None
    assert household_for_visitor_token(new) == home.household
    assert AuditEvent.objects.filter(action="visitor_link_rotated").count() == 1


def test_a_token_signed_with_another_salt_is_refused(home):
    from django.core import signing

    forged = signing.Signer(salt="something-else").sign_object({"h": home.household.pk, "g": 0})
    assert household_for_visitor_token(forged) is None


def test_a_moved_out_household_has_no_valid_link(home, client):
    token = visitor_link_token(home.household)
    home.household.moved_out = timezone.localdate()
    home.household.save()
    assert client.get(reverse("visit", args=[token])).status_code == 404


# --- the public form --------------------------------------------------------------------------


def test_a_visitor_without_an_account_declares_through_the_link(home, world, client):
    url = reverse("visit", args=[visitor_link_token(home.household)])
    page = client.get(url)
    assert page.status_code == 200
    assert world.a.estate.name in page.content.decode()

    response = client.post(url, _form())
    assert response.status_code == 302
    declaration = VisitorDeclaration.objects.get()
    assert declaration.household == home.household
    assert declaration.dwelling == world.a.dwelling
    assert declaration.neighbourhood == world.a.neighbourhood
    assert declaration.declared_by is None
    assert declaration.status == VisitorDeclaration.Status.SUBMITTED
    assert declaration.id_last4 == VISITOR_ID[-4:]
    assert declaration.phone_last4 == "5678"
    assert cipher().decrypt(declaration.id_encrypted) == VISITOR_ID
    assert cipher().decrypt(declaration.phone_encrypted) == "13912345678"
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM residents_visitordeclaration")
        row = " ".join(str(value) for value in cursor.fetchone())
    assert VISITOR_ID not in row
    assert "13912345678" not in row
    done = client.get(response.url)
    assert done.status_code == 200


def test_a_bad_id_number_shows_the_precise_error_and_keeps_the_other_fields(home, client):
    url = reverse("visit", args=[visitor_link_token(home.household)])
    bad = VISITOR_ID[:-1] + ("0" if VISITOR_ID[-1] != "0" else "1")  # wrong check digit
    response = client.post(url, _form(id_number=bad, name="赵六", reason="照顾老人"))
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["id_number"]
    message = form.errors["id_number"][0]
    assert "check" in message.lower() or "校验" in message
    html = response.content.decode()
    assert 'value="赵六"' in html
    assert "照顾老人" in html
    assert 'value="13912345678"' in html
    assert not VisitorDeclaration.objects.exists()


def test_a_passport_number_is_validated_like_residents(home):
    declaration = _declare(home.household, id_type=IdType.PASSPORT, id_number=" e1234 5678 ")
    assert declaration.id_last4 == "5678"
    assert cipher().decrypt(declaration.id_encrypted) == "E12345678"
    with pytest.raises(ValidationError) as caught:
        _declare(home.household, id_type=IdType.PASSPORT, id_number="E1")
    assert "id_number" in caught.value.message_dict


@pytest.mark.parametrize(
    "arrives_in, leaves_in",
    [(5, 4), (0, 367), (-20, -1)],
    ids=["ends before it begins", "longer than a year", "already over"],
)
def test_the_dates_are_checked(home, arrives_in, leaves_in):
    with pytest.raises(ValidationError) as caught:
        _declare(home.household, arrives_in=arrives_in, leaves_in=leaves_in)
    assert list(caught.value.message_dict) == ["leaves_on"]


def test_a_stay_of_exactly_a_year_is_fine(home):
    today = datetime.date(2025, 3, 1)
    declaration = visitor_declare(
        household=home.household,
        name="王访客",
        id_number=VISITOR_ID,
        phone="13912345678",
        arrives_on=today,
        leaves_on=datetime.date(2026, 3, 1),
        reason="工作",
        today=today,
    )
    assert declaration.pk


def test_every_problem_is_reported_at_once(home):
    with pytest.raises(ValidationError) as caught:
        _declare(home.household, name=" ", phone="123", reason="", id_number="")
    assert set(caught.value.message_dict) == {"name", "phone", "reason", "id_number"}


def test_the_form_reports_dates_in_the_wrong_order(home, client):
    url = reverse("visit", args=[visitor_link_token(home.household)])
    today = timezone.localdate()
    response = client.post(
        url,
        _form(
            arrives_on=(today + datetime.timedelta(days=3)).isoformat(),
            leaves_on=today.isoformat(),
        ),
    )
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["leaves_on"]


# --- the resident's form ----------------------------------------------------------------------


def test_a_verified_resident_declares_for_their_household(home, world, login):
    client = login(home.account)
    me = client.get(reverse("me:home"))
    assert me.status_code == 200
    assert reverse("visit", args=[visitor_link_token(home.household)]) in me.content.decode()

    response = client.post(reverse("me:visitor_new"), _form())
    assert response.status_code == 302
    declaration = VisitorDeclaration.objects.get()
    assert declaration.declared_by == home.account
    assert declaration.household == home.household


def test_an_unverified_account_is_sent_to_verify(world, login):
    client = login(UserFactory(verified=False))
    response = client.get(reverse("me:visitor_new"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("me:verify"))
    assert client.post(reverse("me:visitor_new"), _form()).status_code == 403
    assert not VisitorDeclaration.objects.exists()


def test_the_resident_replaces_the_link(home, login):
    client = login(home.account)
    old = visitor_link_token(home.household)
    response = client.post(reverse("me:visitor_link_rotate"))
    assert response.status_code == 302
    assert household_for_visitor_token(old) is None
    assert client.get(reverse("visit", args=[old])).status_code == 404


# --- the cadre's list -------------------------------------------------------------------------


def test_the_cadre_sees_declarations_in_scope_only(home, world, login):
    ours = _declare(home.household, name="甲的访客")
    theirs = _declare(HouseholdFactory(dwelling=world.b.dwelling), name="乙的访客")
    response = login(world.a.cadre).get(reverse("registry:visitors"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "甲的访客" in html
    assert "乙的访客" not in html
    assert ours.id_last4 in html
    assert VISITOR_ID not in html  # masked
    assert [d.pk for d in response.context["page_obj"].object_list] == [ours.pk]
    assert theirs.pk


def test_the_list_filters_by_status_when_and_estate(home, world, login):
    today = timezone.localdate()
    now_staying = _declare(home.household, name="现住", arrives_in=-2, leaves_in=2)
    coming = _declare(home.household, name="将来", arrives_in=5, leaves_in=9)
    left = _declare(
        home.household,
        name="已走",
        arrives_in=0,
        leaves_in=5,
        today=today - datetime.timedelta(days=10),
    )
    other_estate = EstateFactory(neighbourhood=world.a.neighbourhood, name="另一小区")
    elsewhere = _declare(
        HouseholdFactory(dwelling=DwellingFactory(building=BuildingFactory(estate=other_estate))),
        name="别处",
    )
    visitor_declaration_review(
        declaration=coming, by=world.a.cadre, status=VisitorDeclaration.Status.CONFIRMED
    )
    client = login(world.a.cadre)

    def names(**params):
        response = client.get(reverse("registry:visitors"), params)
        assert response.status_code == 200
        return {d.name for d in response.context["page_obj"].object_list}

    assert names() == {"现住", "将来", "已走", "别处"}
    assert names(when="current") == {"现住", "别处"}
    assert names(when="upcoming") == {"将来"}
    assert names(when="past") == {"已走"}
    assert names(status="confirmed") == {"将来"}
    assert names(status="submitted", when="current") == {"现住", "别处"}
    assert names(estate=other_estate.pk) == {"别处"}
    assert names(estate=world.b.estate.pk) == {"现住", "将来", "已走", "别处"}  # ignored
    assert now_staying.pk and left.pk and elsewhere.pk


def test_the_list_has_a_fixed_query_count(home, world, login, django_assert_max_num_queries):
    client = login(world.a.cadre)
    url = reverse("registry:visitors")
    for _i in range(2):
        _declare(home.household, by=home.account)
    client.get(url)
    with django_assert_max_num_queries(15) as few:
        assert client.get(url).status_code == 200
    for i in range(20):
        household = HouseholdFactory(dwelling=DwellingFactory(building=world.a.building))
        declaration = _declare(household, name=f"访客{i}", by=UserFactory())
        if i % 2:
            visitor_declaration_review(
                declaration=declaration, by=world.a.cadre, status=VisitorDeclaration.Status.REJECTED
            )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["page_obj"].object_list) == 22


def test_the_cadre_confirms_and_rejects(home, world, login):
    declaration = _declare(home.household)
    client = login(world.a.cadre)
    url = reverse("registry:visitor_review", args=[declaration.pk])
    response = client.post(url, {"status": "confirmed", "back": "/registry/visitors/?when=current"})
    assert response.status_code == 302
    assert response.url == "/registry/visitors/?when=current"
    declaration.refresh_from_db()
    assert declaration.status == VisitorDeclaration.Status.CONFIRMED
    assert declaration.reviewed_by == world.a.cadre
    event = AuditEvent.objects.get(action=VISITOR_DECLARATION_REVIEWED)
    assert event.actor == world.a.cadre
    assert event.neighbourhood_id == world.a.neighbourhood.pk
    assert event.params["declaration"] == declaration.pk
    assert event.params["status"] == "confirmed"
    assert "王访客" not in event.target_label  # no visitor name kept in the audit log

    client.post(url, {"status": "rejected", "back": "https://evil.example/"})
    declaration.refresh_from_db()
    assert declaration.status == VisitorDeclaration.Status.REJECTED
    assert AuditEvent.objects.filter(action=VISITOR_DECLARATION_REVIEWED).count() == 2

    client.post(url, {"status": "submitted"})
    declaration.refresh_from_db()
    assert declaration.status == VisitorDeclaration.Status.REJECTED


def test_another_neighbourhoods_cadre_gets_404(home, world, login):
    declaration = _declare(home.household)
    client = login(world.b.cadre)
    response = client.post(
        reverse("registry:visitor_review", args=[declaration.pk]), {"status": "confirmed"}
    )
    assert response.status_code == 404
    declaration.refresh_from_db()
    assert declaration.status == VisitorDeclaration.Status.SUBMITTED
    listing = client.get(reverse("registry:visitors"))
    assert listing.status_code == 200
    assert "王访客" not in listing.content.decode()


def test_a_resident_cannot_open_the_cadre_list(home, login):
    assert login(home.account).get(reverse("registry:visitors")).status_code == 403


# --- purging ----------------------------------------------------------------------------------


def test_personal_fields_are_purged_30_days_after_departure(home, world):
    today = timezone.localdate()
    start = today - datetime.timedelta(days=60)
    old = _declare(
        home.household, name="早走", arrives_in=0, leaves_in=30, today=start
    )  # left 30 days ago
    recent = _declare(
        home.household, name="刚走", arrives_in=0, leaves_in=31, today=start
    )  # 29 days ago
    current = _declare(home.household, name="在住")

    assert purge_visitor_declarations() == 1
    old.refresh_from_db()
    assert old.purged_at is not None
    assert (old.name, old.id_encrypted, old.id_last4) == (PURGED_NAME, "", "")
    assert (old.phone_encrypted, old.phone_last4, old.reason) == ("", "", "")
    # kept for statistics
    assert old.dwelling == world.a.dwelling
    assert old.neighbourhood == world.a.neighbourhood
    assert old.id_type == IdType.RESIDENT_ID
    assert old.leaves_on == start + datetime.timedelta(days=30)
    for kept in (recent, current):
        kept.refresh_from_db()
        assert kept.purged_at is None
        assert kept.id_encrypted

    # idempotent: nothing purged twice, the first time kept
    purged_at = old.purged_at
    assert purge_visitor_declarations() == 0
    old.refresh_from_db()
    assert old.purged_at == purged_at


def test_the_purge_delay_is_configurable(home, settings):
    settings.LINLI_VISITOR_PURGE_DAYS = 0
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    _declare(home.household, arrives_in=0, leaves_in=0, today=yesterday)
    assert visitor_declarations_purge() == 1


def test_a_purged_declaration_cannot_be_reviewed_and_shows_no_name(home, world, login, settings):
    settings.LINLI_VISITOR_PURGE_DAYS = 0
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    declaration = _declare(home.household, name="秘密名字", leaves_in=0, today=yesterday)
    visitor_declarations_purge()
    declaration.refresh_from_db()
    with pytest.raises(ValidationError):
        visitor_declaration_review(
            declaration=declaration, by=world.a.cadre, status=VisitorDeclaration.Status.CONFIRMED
        )
    html = login(world.a.cadre).get(reverse("registry:visitors")).content.decode()
    assert "秘密名字" not in html


def test_the_purge_runs_daily_in_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["visitor-purge"]
    assert entry["task"] == "residents.purge_visitor_declarations"
    assert purge_visitor_declarations.name == entry["task"]


def test_the_link_generation_lives_on_the_household_not_in_the_audit_log(home):
    """The audit event only records the replacement: the log is never read back."""
    token = visitor_link_token(home.household)
    new = visitor_link_rotate(household=home.household, by=home.account)
    home.household.refresh_from_db()
    assert home.household.visitor_link_generation == 1
    event = AuditEvent.objects.get(action="visitor_link_rotated")
    assert event.params["generation"] == 1
    AuditEvent.objects.all().delete()  # the link does not depend on the record
    assert household_for_visitor_token(new) == home.household
    assert household_for_visitor_token(token) is None
    assert visitor_link_token(home.household) == new
