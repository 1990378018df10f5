from issues.models import Issue

from .factories import IssueFactory


def test_an_issue_on_a_building_carries_every_place_id(issue_world):
    issue = IssueFactory(category=issue_world.noise, building=issue_world.a.building)
    issue.refresh_from_db()
    a = issue_world.a
    assert (issue.neighbourhood_id, issue.estate_id, issue.subdistrict_id, issue.district_id) == (
        a.neighbourhood.pk,
        a.estate.pk,
        issue_world.subdistrict.pk,
        issue_world.district.pk,
    )
    assert Issue.objects.count() == 1


def test_an_issue_on_a_street_address_takes_the_wide_ids_from_its_neighbourhood(issue_world):
    issue = IssueFactory(
        category=issue_world.passage,
        building=None,
        neighbourhood=issue_world.b.neighbourhood,
        address="友谊路1号",
    )
    issue.refresh_from_db()
    assert issue.estate_id is None and issue.district_id == issue_world.district.pk
