"""Anonymising a resident leaves their name and identifiers nowhere in the database.

The audit log's labels (about the resident, their wellbeing alerts, and the rows their
linked account made) and the admin's history of them are rewritten; the change history
of the resident is gone. Every table is searched for what identified the person.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from core.models import AuditEvent
from residents.models import WellbeingAlert
from residents.services import (
    household_code_issue,
    resident_anonymise,
    resident_reveal_identity,
    resident_update,
    wellbeing_alert_handle,
)
from residents.services.verification import verification_attempt
from tests.factories import HouseholdFactory, ResidentFactory, UserFactory, make_id_number

pytestmark = pytest.mark.django_db

NAME = "黄勇"
ID_NUMBER = make_id_number(9410)
PHONE = "13766668888"


def _tables_holding(*needles: str) -> dict[str, list[str]]:
    """Every table (and the needles found in it) whose rows hold one of ``needles``."""
    found: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            # table names from the database itself, quoted
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            text = " ".join(str(value) for row in cursor.fetchall() for value in row)
            hits = [needle for needle in needles if needle in text]
            if hits:
                found[table] = hits
    return found


@pytest.fixture
def person(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    resident = ResidentFactory(
        household=household, name=NAME, id_number=ID_NUMBER, phone=PHONE, notes="黄勇的备注"
    )
    resident_update(resident=resident, lives_alone=True, by=world.a.cadre)  # a history row
    cadre = world.a.cadre
    cadre.user_permissions.add(Permission.objects.get(codename="view_full_identity"))
    cadre = type(cadre).objects.get(pk=cadre.pk)
    resident_reveal_identity(user=cadre, resident=resident, ip="10.0.0.1")
    alert = WellbeingAlert.objects.create(
        resident=resident, last_seen_at=timezone.now() - datetime.timedelta(days=3)
    )
    wellbeing_alert_handle(alert=alert, by=cadre, note="已电话联系")
    LogEntry.objects.create(  # what the admin writes when a cadre changes the person
        user=cadre,
        content_type=ContentType.objects.get_for_model(resident),
        object_id=str(resident.pk),
        object_repr=NAME,
        action_flag=CHANGE,
        change_message="[]",
    )
    return resident


def _identifiers(resident) -> tuple[str, ...]:
    return (NAME, "huangyong", ID_NUMBER, PHONE, resident.id_hash, resident.phone_hash)


def test_before_anonymising_the_name_is_in_the_labels(person):
    tables = _tables_holding(NAME)
    assert "core_auditevent" in tables and "django_admin_log" in tables
    assert "residents_historicalresident" in tables


def test_after_anonymising_no_table_holds_the_name_or_identifiers(person, world):
    needles = _identifiers(person)
    resident_anonymise(resident=person, by=world.a.cadre, ip="10.0.0.1")
    assert _tables_holding(*needles) == {}
    labels = set(AuditEvent.objects.values_list("target_label", flat=True))
    assert not any(NAME in label for label in labels)
    # what was done, and to what, is kept
    assert AuditEvent.objects.filter(target_id=person.pk, action="identity_revealed").exists()


def test_the_rows_made_by_the_linked_account_lose_its_label(person, world):
    account = UserFactory(name=NAME)
    code = household_code_issue(household=person.household, by=world.a.cadre)
    verification_attempt(
        user=account, code=code.plain, name=NAME, id_last4=ID_NUMBER[-4:], ip="10.0.0.2"
    )
    person.refresh_from_db()
    assert person.user_id == account.pk
    made = AuditEvent.objects.filter(actor=account)
    assert made.exists() and all(event.actor_label == NAME for event in made)

    needles = _identifiers(person)
    resident_anonymise(resident=person, by=world.a.cadre)
    assert all(NAME not in event.actor_label for event in AuditEvent.objects.filter(actor=account))
    # Only the account itself still holds the name it signs in with (the person's own
    # account, not the registry); no registry or log table does.
    assert set(_tables_holding(*needles)) <= {"accounts_user"}
