"""``core.text.clean_text`` guards every text a person types, not only names and notes of
residents and visitors: a wellbeing alert's handling note, a saved report's name and the
name typed on the verification page refuse control, direction and NUL characters with
the same message (and nothing is stored or recorded)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from buildings.models import add_years
from core.text import INVALID_CHARACTERS, invalid_characters_message
from residents.models import AccessEvent, SavedReport, VerificationAttempt, WellbeingAlert
from residents.services import (
    household_code_issue,
    raise_wellbeing_alerts,
    saved_report_create,
    saved_report_rename,
    verification_attempt,
    wellbeing_alert_handle,
)
from tests.factories import HouseholdFactory, ResidentFactory, UserFactory, make_id_number

pytestmark = pytest.mark.django_db

BAD = ["王\x0b五", "王\u202e五", "王\x00五"]


def _field_code(caught, field):
    return [error.code for error in caught.value.error_dict[field]]


# --- the wellbeing alert's note ---------------------------------------------------------------


@pytest.fixture
def alert(world):
    birth = add_years(timezone.localdate(), -85) - datetime.timedelta(days=10)
    resident = ResidentFactory(
        household=HouseholdFactory(dwelling=world.a.dwelling),
        name="甲老人",
        id_number=make_id_number(7301, birth=birth),
    )
    now = timezone.now()
    AccessEvent.objects.create(
        resident=resident,
        neighbourhood_id=resident.neighbourhood_id,
        occurred_at=now - datetime.timedelta(hours=60),
    )
    raise_wellbeing_alerts(now=now)
    return WellbeingAlert.objects.get(resident=resident)


@pytest.mark.parametrize("note", BAD)
def test_a_handling_note_is_checked(world, alert, note):
    with pytest.raises(ValidationError) as caught:
        wellbeing_alert_handle(alert=alert, by=world.a.cadre, note=f"打了电话 {note}")
    assert _field_code(caught, "note") == [INVALID_CHARACTERS]
    alert.refresh_from_db()
    assert alert.handled_at is None and alert.note == ""


def test_a_handling_note_keeps_its_lines(world, alert):
    wellbeing_alert_handle(alert=alert, by=world.a.cadre, note=" 打了电话\r\n\t她很好 ")
    alert.refresh_from_db()
    assert alert.note == "打了电话\n\t她很好"


def test_the_alert_page_shows_the_message(world, alert, login):
    client = login(world.a.cadre)
    url = reverse("registry:alert_handle", args=[alert.pk])
    response = client.post(url, {"note": "王\x0b五 看过了"})
    assert response.status_code == 400
    assert invalid_characters_message() in response.content.decode()
    alert.refresh_from_db()
    assert alert.handled_at is None


# --- saved report names -----------------------------------------------------------------------


@pytest.mark.parametrize("name", BAD)
def test_a_report_name_is_checked(world, name):
    with pytest.raises(ValidationError) as caught:
        saved_report_create(
            neighbourhood=world.a.neighbourhood, name=name, conditions={}, by=world.a.cadre
        )
    assert _field_code(caught, "name") == [INVALID_CHARACTERS]
    assert not SavedReport.objects.exists()


@pytest.mark.parametrize("name", BAD)
def test_a_report_rename_is_checked(world, name):
    report = saved_report_create(
        neighbourhood=world.a.neighbourhood, name="老人", conditions={}, by=world.a.cadre
    )
    with pytest.raises(ValidationError) as caught:
        saved_report_rename(report=report, name=name)
    assert _field_code(caught, "name") == [INVALID_CHARACTERS]
    report.refresh_from_db()
    assert report.name == "老人"


def test_the_report_pages_show_the_message(world, login):
    client = login(world.a.cadre)
    response = client.post(
        f"{reverse('registry:report_save')}?age_min=80",
        {"name": "王\u202e五", "neighbourhood": world.a.neighbourhood.pk},
    )
    assert response.status_code == 400
    assert response.context["save_form"].errors["name"] == [invalid_characters_message()]
    assert not SavedReport.objects.exists()

    report = saved_report_create(
        neighbourhood=world.a.neighbourhood, name="老人", conditions={}, by=world.a.cadre
    )
    response = client.post(
        reverse("registry:report_rename", args=[report.pk]), {"name": "王\x0b五"}, follow=True
    )
    report.refresh_from_db()
    assert report.name == "老人"
    assert invalid_characters_message() in response.content.decode()


# --- the name typed on the verification page --------------------------------------------------


@pytest.fixture
def wang(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    resident = ResidentFactory(household=household, name="王五", id_number=make_id_number(7302))
    issued = household_code_issue(household=household, by=world.a.cadre)
    return resident, issued, UserFactory(name="")


@pytest.mark.parametrize("name", BAD)
def test_a_verification_name_is_checked_and_no_try_is_recorded(wang, name):
    resident, issued, account = wang
    with pytest.raises(ValidationError) as caught:
        verification_attempt(
            user=account,
            code=issued.printed,
            name=name,
            id_last4=resident.id_last4,
            ip="10.0.0.9",
        )
    assert _field_code(caught, "name") == [INVALID_CHARACTERS]
    assert not VerificationAttempt.objects.exists()  # the text's fault, not a guess
    resident.refresh_from_db()
    account.refresh_from_db()
    assert resident.user_id is None and not account.verified


def test_the_verify_page_shows_the_message_and_the_right_name_still_works(wang, login):
    resident, issued, account = wang
    client = login(account)
    data = {"code": issued.printed, "name": "王\x0b五", "id_last4": resident.id_last4}
    response = client.post(reverse("me:verify"), data)
    assert response.status_code == 400
    assert invalid_characters_message() in response.content.decode()
    account.refresh_from_db()
    assert not account.verified

    response = client.post(reverse("me:verify"), {**data, "name": "王五"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.verified
