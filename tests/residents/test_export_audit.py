"""A full-values export is audited per person: every resident it held is named in the audit
log (``core.AuditSubject``), and sees on /me/data/ that their full ID and phone number were
in an export, by whom and when."""

import json
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from core.models import AuditEvent, AuditSubject
from residents import events
from residents.models import Relation, Resident
from residents.selectors.me import ACTION_LABELS, FIELD_LABELS
from tests.factories import HouseholdFactory, ResidentFactory, UserFactory, make_id_number

pytestmark = pytest.mark.django_db

MY_ID = make_id_number(8301)


@pytest.fixture
def home(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    account = UserFactory(verified=True, name="小张")
    me = ResidentFactory(household=household, name="张三", id_number=MY_ID, phone="13700001234")
    me.user = account
    me.save()
    spouse = ResidentFactory(household=household, name="李四", relation=Relation.SPOUSE)
    other = ResidentFactory(household=HouseholdFactory(dwelling=world.b.dwelling), name="乙居民")
    return SimpleNamespace(me=me, spouse=spouse, other=other, account=account)


def full_cadre(world):
    world.a.cadre.user_permissions.add(
        Permission.objects.get(codename="view_full_identity", content_type__app_label="residents")
    )
    return type(world.a.cadre).objects.get(pk=world.a.cadre.pk)


def export(client, *, full=True, **filters):
    data = {**filters, **({"full": "on"} if full else {})}
    response = client.post(reverse("registry:export_download"), data)
    assert response.status_code == 200
    response.getvalue()
    return AuditEvent.objects.filter(action=events.REGISTRY_EXPORTED).latest("pk")


def subjects(event):
    resident_type = ContentType.objects.get_for_model(Resident)
    rows = AuditSubject.objects.filter(event=event)
    assert all(row.target_type == resident_type for row in rows)
    return sorted(rows.values_list("target_id", flat=True))


def test_a_full_export_names_every_resident_it_held(home, world, login):
    client = login(full_cadre(world))
    event = export(client)
    assert event.params == {"rows": 2, "masked": False}  # ids in their own rows, not here
    assert subjects(event) == sorted([home.me.pk, home.spouse.pk])
    assert home.other.pk not in subjects(event)  # another neighbourhood: not exported

    one = export(client, q="张三")
    assert subjects(one) == [home.me.pk]


def test_a_masked_export_names_nobody(home, world, login):
    client = login(full_cadre(world))
    assert subjects(export(client, full=False)) == []
    assert subjects(export(login(world.a.cadre), full=False)) == []
    assert not AuditSubject.objects.exists()


def test_the_resident_sees_the_export_on_my_data(home, world, login):
    cadre = full_cadre(world)
    export(login(cadre), q="张三")
    client = login(home.account)
    response = client.get(reverse("me:data"))
    html = response.content.decode()
    [row] = [e for e in response.context["data"]["audit_events"] if e["by"] == str(cadre)]
    with translation.override("zh-hans"):  # the page's language
        what = str(ACTION_LABELS[events.REGISTRY_EXPORTED])
        fields = [str(FIELD_LABELS["id_number"]), str(FIELD_LABELS["phone"])]
    assert row["what"] == what and row["fields"] == fields
    assert row["when"][:10] == timezone.localdate().isoformat()
    assert what in html and str(cadre) in html
    assert MY_ID not in html and "13700001234" not in html
    downloaded = json.loads(client.get(reverse("me:data_json")).content)
    assert [e["by"] for e in downloaded["audit_events"]] == [str(cadre)]

    # the spouse, not in that export, sees nothing of it
    spouse_account = UserFactory(verified=True)
    home.spouse.user = spouse_account
    home.spouse.save()
    data = login(spouse_account).get(reverse("me:data")).context["data"]
    assert data["audit_events"] == []


def test_my_data_reads_exports_in_a_fixed_number_of_queries(home, world, login):
    def measured():
        client = login(home.account)
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries), response.context["data"]["audit_events"]

    url = reverse("me:data")
    export(login(full_cadre(world)))
    few, shown = measured()
    assert len(shown) == 1 and few <= 15
    for _ in range(5):
        export(login(full_cadre(world)))
    many, shown = measured()
    assert len(shown) == 6 and many == few


def test_a_large_full_export_writes_its_subjects_in_bulk(
    home, world, login, django_assert_max_num_queries
):
    client = login(full_cadre(world))
    export(client)  # warm the caches (content types, permissions)
    for _ in range(60):
        ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling))
    with django_assert_max_num_queries(25):
        event = export(client)
    assert (
        len(subjects(event)) == Resident.objects.filter(neighbourhood=world.a.neighbourhood).count()
    )
