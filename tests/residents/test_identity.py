"""ID numbers: validation (GB 11643), encryption at rest, hashing, masking, rotation."""

import base64
import datetime
import os

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from core.crypto import DecryptionError, FieldCipher, cipher
from residents.idnumbers import compose_id_number, parse_id_number
from residents.models import Resident
from residents.services import resident_create, resident_update
from tests.factories import HouseholdFactory, ResidentFactory, make_id_number

VALID = "11010519491231002X"  # the standard's own example


def test_valid_number_decodes_gender_and_birth_date():
    info = parse_id_number(VALID.lower())
    assert info.number == VALID
    assert info.birth_date == datetime.date(1949, 12, 31)
    assert info.gender == "F"
    assert info.last4 == "002X"


def test_composed_numbers_pass_the_check():
    number = compose_id_number("310113", datetime.date(1935, 2, 28), 17)
    assert parse_id_number(number).gender == "M"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("11010519491231002", "id_length"),
        ("1101051949123100211", "id_length"),
        ("11010519491231002Y", "id_characters"),
        ("X1010519491231002X", "id_characters"),
        ("00010519491231002X", "id_region"),
        ("110105194902300021", "id_birth_date"),  # 30 February
        ("110105189901010021", "id_birth_date"),  # before 1900
        ("110105194912310021", "id_check_digit"),
    ],
)
def test_invalid_numbers_are_refused_precisely(value, code):
    with pytest.raises(ValidationError) as exc:
        parse_id_number(value)
    assert exc.value.code == code


def test_future_birth_date_is_refused():
    tomorrow = datetime.date.today() + datetime.timedelta(days=2)
    with pytest.raises(ValidationError) as exc:
        parse_id_number(compose_id_number("310113", tomorrow, 1))
    assert exc.value.code == "id_birth_date"


def test_check_digit_message_says_what_to_expect():
    with pytest.raises(ValidationError) as exc:
        parse_id_number("110105194912310021")
    assert "X" in exc.value.messages[0]


def test_cipher_round_trip_and_tamper_detection():
    c = FieldCipher("k1:" + base64.b64encode(os.urandom(32)).decode())
    token = c.encrypt(VALID)
    assert VALID not in token and token.startswith("k1$")
    assert c.decrypt(token) == VALID
    assert c.encrypt(VALID) != token  # a fresh nonce each time
    damaged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(DecryptionError):
        c.decrypt(damaged)
    with pytest.raises(DecryptionError):
        c.decrypt("k9$" + token.split("$", 1)[1])


@pytest.mark.django_db
def test_resident_fields_are_filled_from_the_number():
    resident = resident_create(
        household=HouseholdFactory(), name="张三", id_number=VALID, phone="138 0013 8000"
    )
    assert resident.gender == "F"
    assert resident.birth_date == datetime.date(1949, 12, 31)
    assert resident.masked_id == "110***********002X"
    assert resident.masked_phone == "138****8000"
    assert resident.decrypt_identifier() == VALID
    assert resident.decrypt_phone() == "13800138000"
    assert (resident.name_pinyin, resident.name_initials) == ("zhangsan", "zs")


@pytest.mark.django_db
def test_no_plaintext_identifier_in_the_database():
    number = make_id_number(4242)
    resident = ResidentFactory(id_number=number, phone="13912345678")
    tables = [Resident._meta.db_table, Resident.history.model._meta.db_table]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            dump = repr(cursor.fetchall())
            assert number not in dump and number[:14] not in dump
            assert "13912345678" not in dump
    assert resident.id_last4 == number[-4:]


@pytest.mark.django_db
def test_duplicate_number_is_refused_by_hash():
    ResidentFactory(id_number=VALID)
    with pytest.raises(ValidationError) as exc:
        ResidentFactory(id_number=VALID.lower())
    assert "id_number" in exc.value.message_dict


@pytest.mark.django_db
def test_invalid_number_on_create_names_the_field_and_saves_nothing():
    before = Resident.objects.count()
    with pytest.raises(ValidationError) as exc:
        resident_create(household=HouseholdFactory(), name="李四", id_number="110105194912310021")
    assert "id_number" in exc.value.message_dict
    assert Resident.objects.count() == before


@pytest.mark.django_db
def test_passport_numbers_for_foreigners():
    resident = resident_create(
        household=HouseholdFactory(),
        name="Anna Schmidt",
        id_type="passport",
        id_number="c01x00t47",
        nationality="de",
    )
    assert resident.decrypt_identifier() == "C01X00T47"
    assert resident.nationality == "DE"
    assert resident.masked_id == "***" + "*" * 11 + "0T47"
    assert resident.gender == ""  # a passport number says nothing about it


@pytest.mark.django_db
def test_key_rotation_re_encrypts_everything_and_keeps_lookup():
    old = "old:" + base64.b64encode(os.urandom(32)).decode()
    new = "new:" + base64.b64encode(os.urandom(32)).decode()
    with override_settings(ID_ENCRYPTION_KEYS=old):
        resident = ResidentFactory(id_number=VALID, phone="13600000000")
        old_hash = resident.id_hash
        assert resident.id_encrypted.startswith("old$")
    with override_settings(ID_ENCRYPTION_KEYS=f"{new},{old}"):
        call_command("rotate_id_keys", stdout=open(os.devnull, "w"))  # noqa: SIM115
        resident.refresh_from_db()
        assert resident.id_encrypted.startswith("new$")
        assert resident.phone_encrypted.startswith("new$")
        assert resident.id_hash == old_hash
    with override_settings(ID_ENCRYPTION_KEYS=new):  # the old key can now go
        assert cipher().decrypt(resident.id_encrypted) == VALID
        assert resident.decrypt_phone() == "13600000000"


@pytest.mark.django_db
def test_update_identifier_rechecks_duplicates():
    a = ResidentFactory()
    b = ResidentFactory()
    with pytest.raises(ValidationError):
        resident_update(resident=b, id_number=a.decrypt_identifier())
    resident_update(resident=b, id_number=VALID)
    b.refresh_from_db()
    assert b.decrypt_identifier() == VALID
