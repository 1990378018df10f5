"""Elevator inspection reminders (电梯年检提醒): the daily job and its exactly-once rule.

:func:`send_inspection_reminders` runs every day (Celery beat, ``buildings.tasks``). An
elevator is in a *stage* while its next inspection approaches or is overdue:

* ``30d``  – due in 8 to 30 days; the stage starts 30 days before the due date,
* ``7d``   – due in 0 to 7 days; it starts 7 days before,
* ``overdue-<n>`` – the due date has passed; week ``n`` (0, 1, …) starts on day
  ``1 + 7n`` after the due date, so an overdue elevator is reminded weekly.

The people told about an elevator are the cadres of its neighbourhood (a cadre role on
the neighbourhood, its area or its subdistrict), the grid workers of its building, estate
or neighbourhood, the building leaders of its building and the property staff of its
estate (:func:`buildings.selectors.role_holders`). Each of them gets **one digest per
run** listing every elevator whose stage is new to them, never one message per elevator.

Exactly once, without a table of our own:

* The digest is one ``notify()`` call per recipient with ``key=<today, ISO>`` and no
  object, so the notification's Delivery rows are unique on (kind, "", "", day,
  recipient, channel): a second run the same day, a retried task or a second beat
  process sends nothing (the unique key wins).
* Which elevators go into the digest: those whose current stage *started after the
  recipient's last digest day* (the greatest key of their Delivery rows of this kind;
  ISO dates sort as text). A stage that started on or before the last digest was in it
  (the stage was current then, the elevator was theirs, and every digest lists every
  stage newer than the one before), so each elevator's stage reaches each recipient
  once, and a missed day (worker down) is caught up by the next run: the stage is
  still newer than the last digest. A first digest lists every elevator in a stage.
  Stages start at most 23 days back, so only the last 30 days of keys are read.
* Recording an inspection (``buildings.services.elevator_inspection_record``) moves
  ``next_inspection_due`` a year on: the elevator leaves its stage, and the reminders
  of the old cycle stop.

What this rule cannot see: an elevator that joins a recipient's places (a new grant, a
new elevator, a due date moved earlier) in a stage that began before their last digest
is reminded at its next stage, not at once.

Queries: one for the elevators in a stage, one for the role holders (subqueries over the
same elevators), one for the last digest days, then a fixed number per recipient (the
notify call and its savepoint; a commit every 200 digests), and one for the job run's
per-neighbourhood counts: the count grows with the people told, never with the number
of elevators.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role

from .models import Area, Building, Elevator, Estate, Neighbourhood, Subdistrict
from .selectors import role_holders

KIND = "elevator.inspection_due"
JOB = "buildings.send_inspection_reminders"

FIRST_NOTICE_DAYS = 30
SECOND_NOTICE_DAYS = 7
OVERDUE_EVERY_DAYS = 7
# The oldest stage start that can still be current (a 30d stage begins 30 days before the
# due date and ends 8 days before it): last digest days older than this change nothing.
LOOKBACK_DAYS = FIRST_NOTICE_DAYS
# The scheduled run of the day, local time (notifications.schedule runs it).
DAILY_AT = datetime.time(8, 30)
# Digests written per transaction (a commit each costs a flush to disk, a savepoint does not).
COMMIT_EVERY = 200

STAGE_30, STAGE_7, STAGE_OVERDUE = "30d", "7d", "overdue"


@dataclass(frozen=True)
class Stage:
    code: str  # "30d", "7d", "overdue-3"
    started: datetime.date


def stage_of(due: datetime.date, today: datetime.date) -> Stage | None:
    """The reminder stage of an elevator due on ``due``, seen on ``today`` (None: none)."""
    days = (due - today).days
    if days > FIRST_NOTICE_DAYS:
        return None
    if days > SECOND_NOTICE_DAYS:
        return Stage(STAGE_30, due - datetime.timedelta(days=FIRST_NOTICE_DAYS))
    if days >= 0:
        return Stage(STAGE_7, due - datetime.timedelta(days=SECOND_NOTICE_DAYS))
    week = (-days - 1) // OVERDUE_EVERY_DAYS
    started = due + datetime.timedelta(days=1 + OVERDUE_EVERY_DAYS * week)
    return Stage(f"{STAGE_OVERDUE}-{week}", started)


def _in_a_stage(today: datetime.date):
    """Every elevator with a due date no further than 30 days ahead (overdue ones too)."""
    horizon = today + datetime.timedelta(days=FIRST_NOTICE_DAYS)
    return Elevator.objects.filter(
        next_inspection_due__isnull=False, next_inspection_due__lte=horizon
    ).order_by()


def _recipients_by_place(candidates) -> tuple[dict, dict]:
    """``{(place model, id): {user ids}}`` and ``{user id: user}``, in one query."""
    ids = {
        Neighbourhood: candidates.values("neighbourhood_id"),
        Area: candidates.filter(neighbourhood__area__isnull=False).values("neighbourhood__area_id"),
        Subdistrict: candidates.values("subdistrict_id"),
        Estate: candidates.values("estate_id"),
        Building: candidates.values("building_id"),
    }
    grants = [
        (Role.CADRE, Neighbourhood, ids[Neighbourhood]),
        (Role.CADRE, Area, ids[Area]),
        (Role.CADRE, Subdistrict, ids[Subdistrict]),
        (Role.GRID_WORKER, Neighbourhood, ids[Neighbourhood]),
        (Role.GRID_WORKER, Estate, ids[Estate]),
        (Role.GRID_WORKER, Building, ids[Building]),
        (Role.BUILDING_LEADER, Building, ids[Building]),
        (Role.PROPERTY_STAFF, Estate, ids[Estate]),
    ]
    model_of = {ContentType.objects.get_for_model(model).pk: model for model in ids}
    by_place: dict[tuple, set[int]] = defaultdict(set)
    users = {}
    for assignment in role_holders(grants=grants):
        by_place[(model_of[assignment.place_type_id], assignment.place_id)].add(assignment.user_id)
        users[assignment.user_id] = assignment.user
    return by_place, users


def _last_digest_days(today: datetime.date) -> dict[int, datetime.date]:
    """Each recipient's latest digest day within the look-back window, in one query."""
    from notifications.models import Delivery

    floor = today - datetime.timedelta(days=LOOKBACK_DAYS)
    rows = (
        Delivery.objects.filter(kind=KIND, key__gte=floor.isoformat(), key__lte=today.isoformat())
        .values("recipient_id")
        .annotate(last=Max("key"))
        .values_list("recipient_id", "last")
    )
    days = {}
    for recipient_id, last in rows:
        try:
            days[recipient_id] = datetime.date.fromisoformat(last)
        except ValueError:  # not a key of this job
            continue
    return days


def _item(row, stage: Stage, today: datetime.date) -> dict:
    due = row["next_inspection_due"]
    return {
        "elevator": row["pk"],
        "device_code": row["device_code"],
        "estate": row["estate__name"],
        "building": row["building__number"],
        "neighbourhood": row["neighbourhood_id"],
        "due": due.isoformat(),
        "year": due.year,
        "month": due.month,
        "day": due.day,
        "mm": f"{due.month:02d}",
        "dd": f"{due.day:02d}",
        "days": (due - today).days,
        "overdue_days": max((today - due).days, 0),
        "stage": stage.code,
        "overdue": stage.code.startswith(STAGE_OVERDUE),
    }


def send_inspection_reminders(*, today: datetime.date | None = None) -> dict:
    """Send today's digests of elevator inspection reminders (see the module); idempotent.

    Returns the run's counts: ``elevators`` (distinct elevators reminded), ``digests``
    (recipients told), ``reminders`` (elevator lines over all digests), ``failed``
    (recipients whose digest could not be written; recorded on the job run).
    """
    from notifications.jobs import job_run

    today = today or timezone.localdate()
    key = today.isoformat()
    url = reverse("home")  # the cadre's home page lists the elevators due
    counts = {"day": key, "elevators": 0, "digests": 0, "reminders": 0, "failed": 0}
    with job_run(JOB) as run:
        candidates = _in_a_stage(today)
        rows = list(
            candidates.values(
                "pk",
                "device_code",
                "next_inspection_due",
                "neighbourhood_id",
                "neighbourhood__area_id",
                "subdistrict_id",
                "estate_id",
                "estate__name",
                "building_id",
                "building__number",
            )
        )
        staged = [(row, stage_of(row["next_inspection_due"], today)) for row in rows]
        staged = [(row, stage) for row, stage in staged if stage is not None]
        if not staged:
            run.counts.update(counts)
            return counts
        by_place, users = _recipients_by_place(candidates)
        last_days = _last_digest_days(today)

        digests: dict[int, list[dict]] = defaultdict(list)
        for row, stage in staged:
            told = (
                by_place.get((Neighbourhood, row["neighbourhood_id"]), set())
                | by_place.get((Area, row["neighbourhood__area_id"]), set())
                | by_place.get((Subdistrict, row["subdistrict_id"]), set())
                | by_place.get((Estate, row["estate_id"]), set())
                | by_place.get((Building, row["building_id"]), set())
            )
            item = None
            for user_id in told:
                last = last_days.get(user_id)
                if last is not None and stage.started <= last:
                    continue  # already in an earlier digest of this recipient
                item = item or _item(row, stage, today)
                digests[user_id].append(item)

        reminded: dict[int, set[int]] = defaultdict(set)  # neighbourhood -> elevator ids
        recipients = sorted(digests)
        for start in range(0, len(recipients), COMMIT_EVERY):
            # one commit per COMMIT_EVERY digests (each is a savepoint inside: a failing
            # one is rolled back alone); committed digests stay sent if the run dies
            with transaction.atomic():
                for user_id in recipients[start : start + COMMIT_EVERY]:
                    items = digests[user_id]
                    if _send_digest(users[user_id], items, key=key, url=url, run=run):
                        counts["digests"] += 1
                        counts["reminders"] += len(items)
                        for i in items:
                            reminded[i["neighbourhood"]].add(i["elevator"])
                    else:
                        counts["failed"] += 1
        counts["elevators"] = sum(len(ids) for ids in reminded.values())
        for neighbourhood_id, elevator_ids in reminded.items():
            run.count("elevators", len(elevator_ids), neighbourhood=neighbourhood_id)
        run.counts.update(counts)
    return counts


def _send_digest(user, items: list[dict], *, key: str, url: str, run) -> bool:
    """One recipient's digest (a savepoint of its own); False when it failed (recorded)."""
    from notifications.services import notify

    items.sort(key=lambda i: (i["due"], i["estate"], i["building"], i["elevator"]))
    neighbourhoods = {i["neighbourhood"] for i in items}
    context = {
        "today": key,
        "count": len(items),
        "items": items,
        "overdue_count": sum(1 for i in items if i["overdue"]),
    }
    try:
        notify(
            recipients=[user],
            kind=KIND,
            obj=None,
            context=context,
            key=key,
            neighbourhood=next(iter(neighbourhoods)) if len(neighbourhoods) == 1 else None,
            url=url,
        )
    except Exception as exc:  # one recipient's failure must not stop the others
        run.error(f"recipient {user.pk}: {exc!r}")
        return False
    return True
