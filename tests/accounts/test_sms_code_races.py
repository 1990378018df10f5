"""SMS-code limits hold under a race (PostgreSQL, real parallel connections): requests
for one phone, or from one address, in the same instant cannot all pass."""

import pytest
from django.db import connection

from accounts.models import SmsCode
from accounts.sms_codes import SmsCodeThrottled, request_code
from tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 6


@pytest.fixture(autouse=True)
def _postgres_and_no_sms(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for advisory locks and parallel writers")
    monkeypatch.setattr("core.sms.send_sms", lambda phone, message: None)


def test_one_code_a_minute_for_one_phone_however_many_ask_at_once():
    results = run_together(
        *[(lambda i=i: request_code("13912340000", "signup", f"10.9.{i}.1")) for i in range(RACERS)]
    )
    sent = [r for r in results if isinstance(r, SmsCode)]
    assert len(sent) == 1, results
    assert sum(isinstance(r, SmsCodeThrottled) for r in results) == RACERS - 1
    assert SmsCode.objects.filter(phone="13912340000").count() == 1


def test_the_address_limit_holds_for_many_phones_at_once(settings):
    settings.LINLI_SMS_CODE_ADDRESS_PER_HOUR = 3
    results = run_together(
        *[(lambda i=i: request_code(f"1391234100{i}", "signup", "10.8.8.8")) for i in range(RACERS)]
    )
    assert sum(isinstance(r, SmsCode) for r in results) == 3, results
    assert SmsCode.objects.filter(client_ip="10.8.8.8").count() == 3
