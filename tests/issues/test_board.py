"""The responsiveness board (红黑榜): figures, ranking, scoping, bounded queries, page, API."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from core.scoping import EVERYTHING, scope_for
from issues.models import HandlerLevel, Issue, Status
from issues.selectors.board import board_for, rank, red_and_black
from tests.factories import BuildingFactory, EstateFactory, PropertyCompanyFactory

from .factories import IssueFactory

pytestmark = pytest.mark.django_db

HANDLE = "buildings.handle_issues"
NOW = timezone.make_aware(datetime.datetime(2026, 3, 20, 12, 0))
START = timezone.make_aware(datetime.datetime(2026, 3, 1))
END = timezone.make_aware(datetime.datetime(2026, 4, 1))
H = datetime.timedelta(hours=1)


def report(building, category, *, created=None, company=None, **fields):
    """A report created at ``created`` (default 10 days before NOW), dues from then."""
    created = created or NOW - datetime.timedelta(days=10)
    fields.setdefault("acknowledge_due", created + 24 * H)
    fields.setdefault("resolve_due", created + 168 * H)
    if category.handler_kind == HandlerLevel.PROPERTY:
        fields.setdefault("property_company", company or building.estate.property_company)
    issue = IssueFactory(building=building, category=category, **fields)
    Issue.objects.filter(pk=issue.pk).update(created_at=created)
    issue.created_at = created
    return issue


def rows_by_key(rows):
    return {row.key: row for row in rows}


def test_figures_of_one_handler(issue_world):
    w = issue_world
    building, noise = w.a.building, w.noise
    t0 = NOW - datetime.timedelta(days=10)
    # acknowledged on time, resolved on time in 10 h, rated 5
    report(
        building,
        noise,
        created=t0,
        acknowledged_at=t0 + H,
        resolved_at=t0 + 10 * H,
        status=Status.CLOSED,
        rating=5,
    )
    # acknowledged late, resolved late (30 h past due), rated 2, reopened once
    report(
        building,
        noise,
        created=t0,
        acknowledged_at=t0 + 30 * H,
        resolved_at=t0 + 198 * H,
        status=Status.RESOLVED,
        rating=2,
        reopen_count=1,
    )
    # never acknowledged, past both dues: counts as late twice
    report(building, noise, created=t0, status=Status.SUBMITTED)
    # new, not yet due: counted as a report only
    report(building, noise, created=NOW - H, status=Status.SUBMITTED)
    # committed to a date and resolved on its last evening: on time though past resolve_due
    committed_day = (t0 + 200 * H).date()
    late_evening = timezone.make_aware(
        datetime.datetime.combine(committed_day, datetime.time(22, 0))
    )
    report(
        building,
        noise,
        created=t0,
        acknowledged_at=t0 + 2 * H,
        committed_due=committed_day,
        resolved_at=late_evening,
        status=Status.RESOLVED,
    )
    # outside the period, merged: not counted
    report(building, noise, created=START - H, status=Status.SUBMITTED)
    report(building, noise, created=t0, status=Status.MERGED)

    rows = board_for(scope=EVERYTHING, start=START, end=END, now=NOW)
    assert len(rows) == 1
    row = rows[0]
    assert row.key == f"property:{w.a.company.pk}"
    assert row.name == w.a.company.name
    assert row.reports == 5
    assert (row.acknowledged_on_time, row.acknowledge_counted) == (2, 4)
    assert (row.resolved_on_time, row.resolve_counted) == (2, 4)
    assert row.resolved == 3
    hours = sorted([10, 198, (late_evening - t0) / H])
    assert row.median_resolve_hours == pytest.approx(hours[1])
    assert row.average_rating == pytest.approx(3.5)
    assert row.reopened == 1 and row.reopen_rate == pytest.approx(0.2)
    assert row.score == pytest.approx(0.5)
    assert row.rank == 1


def test_committee_and_department_rows_and_level_filter(issue_world):
    w = issue_world
    report(w.a.building, w.passage, handler_level=HandlerLevel.COMMITTEE)
    report(w.a.building, w.building_work, department=w.department)
    report(w.b.building, w.noise)
    keys = set(rows_by_key(board_for(scope=EVERYTHING, start=START, end=END, now=NOW)))
    assert keys == {
        f"committee:{w.a.neighbourhood.pk}",
        f"department:{w.department.pk}",
        f"property:{w.b.company.pk}",
    }
    committee = board_for(
        scope=EVERYTHING, start=START, end=END, level=HandlerLevel.COMMITTEE, now=NOW
    )
    assert [r.key for r in committee] == [f"committee:{w.a.neighbourhood.pk}"]
    assert w.a.neighbourhood.name in committee[0].name


def test_ranking_min_reports_tie_break_red_and_black(issue_world, settings):
    settings.LINLI_ISSUE_BOARD_MIN_REPORTS = 2
    w = issue_world
    t0 = NOW - datetime.timedelta(days=10)
    companies = [PropertyCompanyFactory(name=f"物业{i}") for i in range(8)]
    for index, company in enumerate(companies):
        estate = EstateFactory(neighbourhood=w.a.neighbourhood, property_company=company)
        building = BuildingFactory(estate=estate)
        # company i: i of 2 reports late (0, 1 or 2), so scores 1, .5, 0
        late = min(index // 3, 2)
        for n in range(2):
            on_time = n >= late
            report(
                building,
                w.noise,
                created=t0,
                company=company,
                acknowledged_at=t0 + (H if on_time else 30 * H),
                resolved_at=t0 + (10 * H if on_time else 200 * H),
                rating=5 - index % 3,
                status=Status.CLOSED,
            )
    lonely = PropertyCompanyFactory(name="只有一件")
    estate = EstateFactory(neighbourhood=w.a.neighbourhood, property_company=lonely)
    report(
        BuildingFactory(estate=estate),
        w.noise,
        created=t0,
        company=lonely,
        acknowledged_at=t0 + H,
        resolved_at=t0 + H,
        status=Status.CLOSED,
        rating=5,
    )

    rows = board_for(scope=EVERYTHING, start=START, end=END, now=NOW)
    ranked = [r for r in rows if r.ranked]
    assert len(ranked) == 8 and [r.rank for r in ranked] == list(range(1, 9))
    # equal scores: the better rating first
    assert [r.name for r in ranked[:3]] == ["物业0", "物业1", "物业2"]
    unranked = [r for r in rows if not r.ranked]
    assert [r.name for r in unranked] == ["只有一件"]  # listed, not ranked
    assert rows[-1].name == "只有一件"
    red, black = red_and_black(rows)
    assert [r.name for r in red] == ["物业0", "物业1", "物业2"]
    assert [r.name for r in black] == ["物业7", "物业6", "物业5"]  # worst first
    assert not {r.key for r in red} & {r.key for r in black}


def test_black_list_never_repeats_the_red_list():
    from issues.selectors.board import BoardRow

    rows = rank(
        [
            BoardRow(
                key=f"p:{i}",
                level="property",
                handler_id=i,
                name=str(i),
                reports=5,
                acknowledge_counted=5,
                acknowledged_on_time=5 - i,
            )
            for i in range(4)
        ]
    )
    red, black = red_and_black(rows)
    assert [r.name for r in red] == ["0", "1", "2"]
    assert [r.name for r in black] == ["3"]


def test_cadre_b_sees_only_b_handlers(issue_world):
    w = issue_world
    report(w.a.building, w.noise)
    report(w.a.building, w.passage, handler_level=HandlerLevel.COMMITTEE)
    report(w.b.building, w.noise)
    rows = board_for(scope=scope_for(w.b.cadre, HANDLE), start=START, end=END, now=NOW)
    assert [r.key for r in rows] == [f"property:{w.b.company.pk}"]


def test_property_staff_see_their_company_row_only(issue_world):
    w = issue_world
    report(w.a.building, w.noise)
    # a report of their estate escalated to the committee: not their row
    report(w.a.building, w.passage, handler_level=HandlerLevel.COMMITTEE)
    report(w.b.building, w.noise)
    rows = board_for(scope=scope_for(w.a.property_staff, HANDLE), start=START, end=END, now=NOW)
    assert [r.key for r in rows] == [f"property:{w.a.company.pk}"]


@pytest.mark.parametrize("handlers", [2, 20])
def test_bounded_queries(issue_world, handlers, django_assert_max_num_queries):
    w = issue_world
    t0 = NOW - datetime.timedelta(days=10)
    for index in range(handlers):
        company = PropertyCompanyFactory(name=f"公司{index}")
        estate = EstateFactory(neighbourhood=w.a.neighbourhood, property_company=company)
        building = BuildingFactory(estate=estate)
        for _n in range(3):
            report(
                building,
                w.noise,
                created=t0,
                company=company,
                acknowledged_at=t0 + H,
                resolved_at=t0 + 5 * H,
                rating=4,
                status=Status.CLOSED,
            )
    scope = scope_for(w.a.cadre, HANDLE)
    with django_assert_max_num_queries(2):
        rows = board_for(scope=scope, start=START, end=END, now=NOW)
    assert len(rows) == handlers
    assert all(r.median_resolve_hours == pytest.approx(5) for r in rows)


# --- the page ---------------------------------------------------------------------------


def _travel(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def test_page_shows_table_lists_and_chart(issue_world, login, monkeypatch):
    w = issue_world
    report(w.a.building, w.noise, acknowledged_at=NOW - 239 * H)
    report(w.b.building, w.noise)
    _travel(monkeypatch)
    client = login(w.a.cadre)
    response = client.get(reverse("issues:board"))
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-board-row="property:{w.a.company.pk}"' in body
    assert f'data-board-row="property:{w.b.company.pk}"' not in body  # B's handler
    assert "<svg" in body and "<title" in body and "data-board-red" in body
    assert "style=" not in body.split("<main", 1)[1]  # CSP: no inline style


def test_page_periods_and_custom_dates(issue_world, login, monkeypatch):
    w = issue_world
    report(w.a.building, w.noise, created=NOW - datetime.timedelta(days=40))  # February
    _travel(monkeypatch)
    client = login(w.a.cadre)
    url = reverse("issues:board")
    key = f'data-board-row="property:{w.a.company.pk}"'
    assert key not in client.get(url).content.decode()  # this month
    assert key in client.get(url, {"period": "last_month"}).content.decode()
    assert key in client.get(url, {"period": "90d"}).content.decode()
    custom = {"period": "custom", "start": "2026-02-01", "end": "2026-02-28"}
    assert key in client.get(url, custom).content.decode()
    bad = client.get(url, {"period": "custom", "start": "2026-02-10", "end": "2026-02-01"})
    assert bad.status_code == 400


def test_page_needs_handle_issues(issue_world, login):
    resident = issue_world.a.resident
    response = login(resident).get(reverse("issues:board"))
    assert response.status_code in (403, 404)


def test_page_queries_bounded(issue_world, login, monkeypatch, django_assert_max_num_queries):
    w = issue_world
    for _n in range(5):
        report(w.a.building, w.noise)
    _travel(monkeypatch)
    client = login(w.a.cadre)
    ContentType.objects.clear_cache()
    client.get(reverse("issues:board"))  # warm the caches
    with django_assert_max_num_queries(12):
        assert client.get(reverse("issues:board")).status_code == 200


# --- the API ----------------------------------------------------------------------------


def test_api_returns_the_same_rows_for_the_key_jurisdiction(issue_world, api_key_headers, client):
    w = issue_world
    report(w.a.building, w.noise, created=timezone.now() - H)
    report(w.b.building, w.noise, created=timezone.now() - H)
    _key, headers = api_key_headers(w.a.neighbourhood, scopes=("issues:read",))
    response = client.get("/api/v1/issue-board/", headers=headers)
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["key"] for r in results] == [f"property:{w.a.company.pk}"]
    assert results[0]["reports"] == 1

    _key, headers = api_key_headers(w.a.neighbourhood, scopes=("places:read",))
    assert client.get("/api/v1/issue-board/", headers=headers).status_code == 403
    bad = client.get("/api/v1/issue-board/?start=2026-03-10&end=2026-03-01", headers=headers)
    assert bad.status_code in (400, 403)


def test_api_is_in_the_schema(client, superuser, login):
    schema = login(superuser).get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert "/api/v1/issue-board/" in schema.json()["paths"]


def test_api_for_a_user_staff(issue_world, login):
    w = issue_world
    report(w.b.building, w.noise, created=timezone.now() - H)
    report(w.a.building, w.noise, created=timezone.now() - H)
    results = login(w.b.cadre).get("/api/v1/issue-board/").json()["results"]
    assert [r["key"] for r in results] == [f"property:{w.b.company.pk}"]
