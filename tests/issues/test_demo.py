"""The demo reports of ``seed_demo``: every state, photos, upvotes, timelines, departments."""

import datetime
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db.models import Count, F
from django.utils import timezone

from buildings.models import Subdistrict
from core.scoping import EVERYTHING
from issues.models import (
    Department,
    EventKind,
    Issue,
    IssueEvent,
    IssuePhoto,
    Source,
    Status,
    Upvote,
)
from issues.selectors.board import board_for

pytestmark = pytest.mark.django_db


def seed():
    out = StringIO()
    call_command("seed_demo", force=True, stdout=out)
    return out.getvalue()


def test_demo_reports_cover_every_state_and_are_idempotent():
    seed()
    issues = Issue.objects.all()
    count = issues.count()
    assert 250 <= count <= 400
    statuses = set(issues.values_list("status", flat=True))
    assert statuses == set(Status.values)
    sources = set(issues.values_list("source", flat=True))
    assert {Source.WEB, Source.HOTLINE, Source.STAFF} <= sources

    # spread over months, none in the future
    now = timezone.now()
    assert issues.filter(created_at__lt=now - datetime.timedelta(days=60)).exists()
    assert not issues.filter(created_at__gt=now).exists()
    assert not IssueEvent.objects.filter(created_at__gt=now).exists()

    # overdue reports were escalated by the escalation service; ratings; reopens
    assert issues.filter(escalations__gt=0).exists()
    assert IssueEvent.objects.filter(kind=EventKind.ESCALATED).exists()
    assert issues.filter(rating__isnull=False).exists()
    assert issues.filter(reopen_count__gt=0).exists()
    assert (
        issues.filter(status__in=[Status.SUBMITTED, Status.ACKNOWLEDGED])
        .filter(due_at__lt=now)
        .exists()
        or issues.filter(escalations__gt=0, status=Status.SUBMITTED).exists()
    )

    # every report has a "submitted" step; closed ones a closing step
    assert not issues.exclude(events__kind=EventKind.SUBMITTED).exists()
    closed = issues.filter(status=Status.CLOSED)
    assert not closed.exclude(
        events__kind__in=[EventKind.CONFIRMED, EventKind.AUTO_CLOSED]
    ).exists()

    # place ids are consistent (bulk_create skips save)
    with_building = issues.filter(building__isnull=False)
    assert not with_building.exclude(estate_id=F("building__estate_id")).exists()
    assert not with_building.exclude(neighbourhood_id=F("building__neighbourhood_id")).exists()
    assert not issues.exclude(subdistrict_id=F("neighbourhood__subdistrict_id")).exists()

    # photos point at stored files
    photos = IssuePhoto.objects.all()
    assert photos.count() > 20
    assert photos.filter(event__kind=EventKind.RESOLVED).exists()
    for name in set(photos.values_list("image", flat=True)) | set(
        photos.values_list("thumbnail", flat=True)
    ):
        assert default_storage.exists(name)

    # upvote counts match the rows
    assert Upvote.objects.exists()
    counted = issues.annotate(votes=Count("upvotes")).exclude(votes=F("upvote_count"))
    assert not counted.exists()

    # departments for every demo subdistrict
    for subdistrict in Subdistrict.objects.filter(neighbourhoods__isnull=False).distinct():
        codes = set(
            Department.objects.filter(subdistrict=subdistrict).values_list("code", flat=True)
        )
        assert {"chengguan", "fangguan", "paichusuo"} <= codes

    # the board has something to show
    rows = board_for(
        scope=EVERYTHING,
        start=now - datetime.timedelta(days=90),
        end=now + datetime.timedelta(hours=1),
    )
    assert any(row.ranked for row in rows)

    before = (count, IssueEvent.objects.count(), photos.count(), Department.objects.count())
    seed()
    after = (
        Issue.objects.count(),
        IssueEvent.objects.count(),
        IssuePhoto.objects.count(),
        Department.objects.count(),
    )
    assert after == before


def test_demo_resident_reports_went_through_the_services():
    seed()
    from accounts.models import User

    resident = User.objects.get(phone="13800000004")
    mine = Issue.objects.filter(reporter=resident, source=Source.WEB)
    assert mine.filter(status=Status.CLOSED, rating=5).exists()
    assert mine.filter(status=Status.MERGED, merged_into__isnull=False).exists()
    assert mine.filter(follows__user=resident).exists()
