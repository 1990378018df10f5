"""Elevator inspection reminders, travelling in time: 30 days before, 7 days before,
weekly once overdue; one digest per recipient and run; exactly once; an inspection
recorded stops the cycle; only the people of the elevator's places are told."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.services import role_grant
from buildings.models import Elevator, ElevatorInspection
from buildings.reminders import (
    JOB,
    KIND,
    send_inspection_reminders,
    stage_of,
)
from buildings.services import elevator_inspection_record
from notifications.models import Delivery, JobRun, Notification, OutboxEntry
from notifications.schedule import daily_jobs, is_due, run_due_jobs
from tests.factories import BuildingFactory, ElevatorFactory, UserFactory

pytestmark = pytest.mark.django_db

DUE = datetime.date(2027, 1, 5)


def days(n):
    return DUE + datetime.timedelta(days=n)


@pytest.fixture
def people(world):
    """Everyone who is told about world.a's elevator, and two who are not."""
    a, b = world.a, world.b
    grid = UserFactory(name="网格员")
    leader = UserFactory(name="楼组长")
    staff = UserFactory(name="甲物业")
    other_staff = UserFactory(name="乙物业")
    role_grant(user=grid, role=Role.GRID_WORKER, place=a.building)
    role_grant(user=leader, role=Role.BUILDING_LEADER, place=a.building)
    role_grant(user=staff, role=Role.PROPERTY_STAFF, place=a.estate)
    role_grant(user=other_staff, role=Role.PROPERTY_STAFF, place=b.estate)
    Elevator.objects.filter(pk=a.elevator.pk).update(next_inspection_due=DUE)
    # B's elevator is far from due: B's cadre and staff have nothing to hear
    Elevator.objects.filter(pk=b.elevator.pk).update(next_inspection_due=days(200))
    return {
        "told": [a.cadre, grid, leader, staff],
        "untold": [b.cadre, other_staff],
    }


def notices(user):
    return list(Notification.objects.filter(recipient=user, kind=KIND).order_by("id"))


def test_stages():
    assert stage_of(days(0), days(-31)) is None
    assert stage_of(days(0), days(-30)).code == "30d"
    assert stage_of(days(0), days(-8)).started == days(-30)
    assert stage_of(days(0), days(-7)).code == "7d"
    assert stage_of(days(0), days(0)).code == "7d"
    assert stage_of(days(0), days(1)).code == "overdue-0"
    assert stage_of(days(0), days(7)).code == "overdue-0"
    assert stage_of(days(0), days(8)).code == "overdue-1"
    assert stage_of(days(0), days(8)).started == days(8)


def test_thirty_days_before_each_recipient_gets_one_digest(world, people):
    counts = send_inspection_reminders(today=days(-30))
    assert counts["digests"] == 4
    assert counts["elevators"] == 1
    for user in people["told"]:
        [notice] = notices(user)
        assert "甲花园" in notice.body and "1号楼" in notice.body
        assert "2027" in notice.body and "1" in notice.body and "5" in notice.body
        sms = Delivery.objects.get(recipient=user, kind=KIND, channel="sms")
        assert "1号楼" in sms.body
    for user in people["untold"]:
        assert notices(user) == []
    run = JobRun.objects.get(name=JOB)
    assert run.status == JobRun.Status.OK
    assert run.counts["digests"] == 4
    assert run.places.get().neighbourhood_id == world.a.neighbourhood.pk


def test_a_rerun_the_same_day_sends_nothing(people):
    send_inspection_reminders(today=days(-30))
    rows = (Notification.objects.count(), Delivery.objects.count(), OutboxEntry.objects.count())
    counts = send_inspection_reminders(today=days(-30))
    assert counts["digests"] == 0
    assert rows == (
        Notification.objects.count(),
        Delivery.objects.count(),
        OutboxEntry.objects.count(),
    )


def test_the_cycle_thirty_then_seven_then_weekly_overdue(people):
    sent_on = []
    for offset in range(-35, 23):
        if send_inspection_reminders(today=days(offset))["digests"]:
            sent_on.append(offset)
    assert sent_on == [-30, -7, 1, 8, 15, 22]
    cadre = people["told"][0]
    assert len(notices(cadre)) == 6
    assert "已过期" in notices(cadre)[-1].body  # the overdue wording (the cadre reads Chinese)


def test_a_missed_day_is_caught_up_once(people):
    # the job did not run from 30 days before until 25 days before
    assert send_inspection_reminders(today=days(-25))["digests"] == 4
    assert send_inspection_reminders(today=days(-24))["digests"] == 0


def test_recording_the_inspection_stops_the_reminders(world, people):
    send_inspection_reminders(today=days(-30))
    elevator = Elevator.objects.get(pk=world.a.elevator.pk)
    ElevatorInspection.objects.filter(elevator=elevator).delete()
    elevator_inspection_record(
        elevator=elevator,
        inspected_on=min(days(-20), timezone.localdate()),
        result=ElevatorInspection.Result.PASSED,
    )
    elevator.refresh_from_db()
    assert elevator.next_inspection_due > days(30)
    for offset in (-7, 0, 1, 8, 15):
        assert send_inspection_reminders(today=days(offset))["digests"] == 0
    assert len(notices(people["told"][0])) == 1


def test_one_digest_lists_all_the_recipients_elevators(world, people):
    building = BuildingFactory(estate=world.a.estate, number="3号楼")
    ElevatorFactory(building=building, next_inspection_due=days(3))
    ElevatorFactory(building=world.a.building, next_inspection_due=days(-2))
    counts = send_inspection_reminders(today=days(-1))
    assert counts["elevators"] == 3
    cadre, grid, leader, staff = people["told"]
    [digest] = notices(cadre)
    assert "3号楼" in digest.body and "1号楼" in digest.body
    assert len(digest.body.splitlines()) == 3
    # the grid worker and the building leader hold 1号楼 only
    assert "3号楼" not in notices(grid)[0].body
    assert len(notices(leader)[0].body.splitlines()) == 2
    assert len(notices(staff)[0].body.splitlines()) == 3
    assert Delivery.objects.filter(recipient=cadre, kind=KIND, channel="sms").count() == 1


def test_a_cadre_of_the_subdistrict_is_told_but_not_an_inactive_user(world, people):
    above = UserFactory()
    role_grant(user=above, role=Role.CADRE, place=world.subdistrict)
    gone = people["told"][1]
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    send_inspection_reminders(today=days(-30))
    assert len(notices(above)) == 1
    assert notices(gone) == []


def _elevators(world, n):
    buildings = [world.a.building, world.b.building]
    Elevator.objects.bulk_create(
        [
            Elevator(
                building=building,
                estate_id=building.estate_id,
                neighbourhood_id=building.neighbourhood_id,
                device_code=f"BULK{building.pk:04d}{i:05d}",
                next_inspection_due=days(i % 40 - 5),
            )
            for i in range(n)
            for building in buildings
        ]
    )


@pytest.mark.parametrize("extra", [5, 200])
def test_queries_do_not_grow_with_the_elevators(
    world, people, extra, django_assert_max_num_queries
):
    _elevators(world, extra)
    # 6 recipients (A's four, B's cadre and staff), 7 queries each (the notify call and
    # its savepoint); fixed: the job run (2) and its places, the elevators, the role
    # holders, the last digest days, and the content types when not cached yet (2)
    with django_assert_max_num_queries(6 * 7 + 8):
        counts = send_inspection_reminders(today=days(-1))
    assert counts["digests"] == 6
    assert counts["elevators"] > extra


def test_the_daily_tick_runs_the_job_once_a_day(people):
    job = next(j for j in daily_jobs() if j.name == JOB)
    tz = timezone.get_current_timezone()
    early = datetime.datetime(2027, 1, 4, 7, 0, tzinfo=tz)
    assert is_due(job, now=early)  # never ran: at once (a fresh installation, the demo)
    assert JOB in run_due_jobs()  # (with the other apps' daily jobs)
    assert not is_due(job, now=timezone.now())  # ran today
    assert JOB not in run_due_jobs()
    JobRun.objects.update(started_at=timezone.now() - datetime.timedelta(days=2))
    assert not is_due(job, now=early)  # ran before: wait for 08:30
    assert is_due(job, now=early.replace(hour=9))


def test_the_task_the_schedule_and_the_kind(settings):
    from config.celery import app
    from notifications.kinds import get_kind

    app.loader.import_default_modules()
    assert "buildings.send_inspection_reminders" in app.tasks
    assert "notifications.run_daily_jobs" in app.tasks
    assert settings.CELERY_BEAT_SCHEDULE["daily-jobs"]["task"] == "notifications.run_daily_jobs"
    assert JOB in {job.name for job in daily_jobs()}
    kind = get_kind(KIND)
    assert kind.default_channels == ("inbox", "sms")


def test_a_failing_digest_is_recorded_and_the_others_are_sent(people, monkeypatch):
    import notifications.services

    real = notifications.services.notify
    grid = people["told"][1]

    def flaky(**kwargs):
        if kwargs["recipients"][0].pk == grid.pk:
            raise RuntimeError("template broke")
        return real(**kwargs)

    monkeypatch.setattr(notifications.services, "notify", flaky)
    counts = send_inspection_reminders(today=days(-30))
    assert counts["digests"] == 3 and counts["failed"] == 1
    run = JobRun.objects.get(name=JOB)
    assert run.status == JobRun.Status.FAILED and "template broke" in run.errors
    assert notices(grid) == []
    assert len(notices(people["told"][0])) == 1
