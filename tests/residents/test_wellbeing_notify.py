"""A new wellbeing alert tells the neighbourhood's cadres, exactly once, in the
transaction that raised it (its outbox rows with it); never another neighbourhood's."""

import datetime
import itertools

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from accounts.services import role_grant
from buildings.models import add_years
from notifications.models import Delivery, Notification, OutboxEntry
from residents.models import AccessEvent, WellbeingAlert
from residents.services import raise_wellbeing_alerts
from residents.services.wellbeing import WELLBEING_ALERT_KIND as KIND
from tests.factories import HouseholdFactory, ResidentFactory, UserFactory, make_id_number

pytestmark = pytest.mark.django_db

_seq = itertools.count(700)


def elder_seen(dwelling, *, hours_ago, now):
    birth = add_years(timezone.localdate(), -86) - datetime.timedelta(days=3)
    resident = ResidentFactory(
        household=HouseholdFactory(dwelling=dwelling),
        id_number=make_id_number(next(_seq), birth=birth),
    )
    AccessEvent.objects.create(
        resident=resident,
        neighbourhood_id=resident.neighbourhood_id,
        occurred_at=now - datetime.timedelta(hours=hours_ago),
    )
    return resident


def notices(user):
    return list(Notification.objects.filter(recipient=user, kind=KIND))


def test_the_cadres_of_the_neighbourhood_are_told_once(world):
    now = timezone.now()
    elder_seen(world.a.dwelling, hours_ago=60, now=now)
    elder_seen(world.b.dwelling, hours_ago=10, now=now)  # B's elder was seen recently
    second = UserFactory()
    role_grant(user=second, role=Role.CADRE, place=world.a.neighbourhood)
    grid = UserFactory()
    role_grant(user=grid, role=Role.GRID_WORKER, place=world.a.neighbourhood)

    assert raise_wellbeing_alerts(now=now) == 1
    alert = WellbeingAlert.objects.get()
    for cadre in (world.a.cadre, second):
        [notice] = notices(cadre)
        assert "甲花园" in notice.body and "101" in notice.body
        assert notice.url.endswith(f"/alerts/{alert.pk}/")
        assert Delivery.objects.filter(recipient=cadre, kind=KIND, channel="sms").count() == 1
    assert notices(world.b.cadre) == []
    assert notices(grid) == []  # cadres only
    outbox = OutboxEntry.objects.count()
    assert outbox >= 2

    # a re-run raises nothing and tells nobody again
    assert raise_wellbeing_alerts(now=now + datetime.timedelta(hours=1)) == 0
    assert len(notices(world.a.cadre)) == 1
    assert OutboxEntry.objects.count() == outbox


def test_no_name_in_the_text(world):
    now = timezone.now()
    resident = elder_seen(world.a.dwelling, hours_ago=60, now=now)
    raise_wellbeing_alerts(now=now)
    sms = Delivery.objects.get(recipient=world.a.cadre, kind=KIND, channel="sms")
    assert resident.name not in sms.body
    assert resident.name not in notices(world.a.cadre)[0].body


def test_the_notice_rolls_back_with_the_alert(world):
    now = timezone.now()
    elder_seen(world.a.dwelling, hours_ago=60, now=now)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        raise_wellbeing_alerts(now=now)
        raise Boom
    assert WellbeingAlert.objects.count() == 0
    assert notices(world.a.cadre) == []
    assert OutboxEntry.objects.count() == 0
    # raised later, it is told then
    assert raise_wellbeing_alerts(now=now) == 1
    assert len(notices(world.a.cadre)) == 1


def test_a_cadre_of_the_subdistrict_is_told(world):
    now = timezone.now()
    above = UserFactory()
    role_grant(user=above, role=Role.CADRE, place=world.subdistrict)
    elder_seen(world.a.dwelling, hours_ago=60, now=now)
    elder_seen(world.b.dwelling, hours_ago=60, now=now)
    assert raise_wellbeing_alerts(now=now) == 2
    [digest] = notices(above)  # one digest for both neighbourhoods
    assert "甲花园" in digest.body and "乙花园" in digest.body
    assert len(notices(world.a.cadre)) == 1
    assert len(notices(world.b.cadre)) == 1


@pytest.mark.parametrize("count", [3, 40])
def test_one_digest_per_cadre_whatever_the_alerts(world, count, django_assert_max_num_queries):
    now = timezone.now()
    for _ in range(count):
        elder_seen(world.a.dwelling, hours_ago=60, now=now)
    elder_seen(world.b.dwelling, hours_ago=60, now=now)
    # the gap query, the insert, the alerts, the cadres, the savepoint pair, per cadre
    # (two) the notify call's queries with its savepoint pair, and the webhooks' two (the
    # raised alerts, the subscriptions): the same for 3 alerts or 40
    with django_assert_max_num_queries(6 + 2 * 7 + 2):
        assert raise_wellbeing_alerts(now=now) == count + 1
    [digest] = notices(world.a.cadre)
    assert len(digest.body.splitlines()) == 1 + count
    assert digest.url.endswith("/registry/alerts/")
    sms = Delivery.objects.get(recipient=world.a.cadre, kind=KIND, channel="sms")
    assert f"{count - 3}" in sms.body
