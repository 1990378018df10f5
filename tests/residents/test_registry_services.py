"""Households and residents: moves keep the past, reveal is audited, anonymising keeps stats."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError

from core.models import AuditEvent
from residents.models import CareTag, Household, Resident
from residents.services import (
    household_move,
    household_set_head,
    resident_add_tags,
    resident_anonymise,
    resident_mark_moved_out,
    resident_move,
    resident_reveal_identity,
)
from tests.factories import DwellingFactory, HouseholdFactory, ResidentFactory, UserFactory

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 3, 1)


def test_place_ids_come_from_the_dwelling(world):
    resident = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling))
    assert resident.neighbourhood_id == world.a.neighbourhood.pk
    assert resident.building_id == world.a.building.pk
    assert resident.estate_id == world.a.estate.pk


def test_first_head_member_becomes_head_and_head_must_be_a_member():
    household = HouseholdFactory()
    first = ResidentFactory(household=household)
    second = ResidentFactory(household=household, relation="spouse")
    household.refresh_from_db()
    assert household.head == first
    with pytest.raises(ValidationError):
        household_set_head(household=household, resident=ResidentFactory())
    household_set_head(household=household, resident=second)
    assert Household.objects.get(pk=household.pk).head == second


def test_household_move_keeps_the_old_household_and_history(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    head = ResidentFactory(household=household)
    gone = ResidentFactory(household=household, relation="child")
    resident_mark_moved_out(resident=gone, moved_out=DAY)
    target = DwellingFactory(building=world.a.building, room="602")
    new = household_move(household=household, dwelling=target, moved_on=DAY)
    household.refresh_from_db()
    head.refresh_from_db()
    assert household.moved_out == DAY  # the past stays
    assert new.head == head and new.dwelling == target
    assert head.household == new and head.dwelling_id == target.pk
    assert Resident.objects.get(pk=gone.pk).household == household  # left before the move
    assert head.history.filter(household_id=household.pk).exists()
    assert AuditEvent.objects.filter(action="household_moved", target_id=new.pk).exists()
    with pytest.raises(ValidationError):
        household_move(household=household, dwelling=target, moved_on=DAY)


def test_resident_move_hands_over_headship():
    old = HouseholdFactory()
    person = ResidentFactory(household=old)
    new = HouseholdFactory()
    resident_move(resident=person, household=new, moved_on=DAY)
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.head is None and new.head == person
    assert person.history.count() >= 2


def test_bulk_add_tags_is_idempotent():
    tag = CareTag.objects.create(code="elderly-alone", name="独居老人")
    people = [ResidentFactory() for _ in range(3)]
    qs = Resident.objects.filter(pk__in=[p.pk for p in people])
    assert resident_add_tags(residents=qs, tags=[tag]) == 3
    assert resident_add_tags(residents=qs, tags=[tag]) == 0


def test_reveal_needs_the_permission_and_is_audited(world):
    resident = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling))
    cadre = world.a.cadre
    with pytest.raises(PermissionDenied):
        resident_reveal_identity(user=cadre, resident=resident)
    assert not AuditEvent.objects.filter(action="identity_revealed").exists()
    cadre.user_permissions.add(Permission.objects.get(codename="view_full_identity"))
    cadre = type(cadre).objects.get(pk=cadre.pk)  # fresh permission cache
    shown = resident_reveal_identity(user=cadre, resident=resident, ip="10.1.2.3")
    assert shown["id_number"] == resident.decrypt_identifier()
    event = AuditEvent.objects.get(action="identity_revealed")
    assert (event.actor, event.target_id, event.ip_address) == (cadre, resident.pk, "10.1.2.3")
    assert event.neighbourhood_id == world.a.neighbourhood.pk


def test_anonymise_removes_personal_data_and_keeps_statistics():
    tag = CareTag.objects.create(code="party", name="党员")
    resident = ResidentFactory(name="王建国", care_tags=[tag])
    number = resident.decrypt_identifier()
    birth_year = resident.birth_date.year
    resident_anonymise(resident=resident, by=UserFactory())
    resident.refresh_from_db()
    assert resident.name != "王建国" and resident.anonymised_at is not None
    assert resident.id_encrypted == resident.id_hash == resident.id_last4 == ""
    assert resident.phone_encrypted == "" and resident.phone_last4 == ""
    assert resident.birth_date.year == birth_year and resident.gender
    assert list(resident.care_tags.all()) == [tag]
    assert not resident.history.filter(name="王建国").exists()
    assert ResidentFactory(id_number=number)  # the number is free again
    assert AuditEvent.objects.filter(action="resident_anonymised").count() == 1
