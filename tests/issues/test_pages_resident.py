"""The residents' pages of issue reporting: scoping, the list, reporting (with photos kept
across an error), upvotes, follows, comments, and the reporter's confirm and reopen."""

import io
import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from issues.models import Issue, IssuePhoto, Status, Upvote
from tests.factories import UserFactory

from .factories import CategoryAttributeFactory, IssueFactory

pytestmark = pytest.mark.django_db


def _png(name="photo.png", size=(40, 30), mode="RGB"):
    out = io.BytesIO()
    Image.new(mode, size, color=0 if mode == "1" else (200, 30, 30)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def _bomb(name="bomb.png"):
    # 8000 × 6000 = 48 million pixels in a few kilobytes: over the pixel limit
    return _png(name, size=(8000, 6000), mode="1")


def _not_an_image(name="notes.jpg"):
    return SimpleUploadedFile(name, b"this is a text file, renamed", content_type="image/jpeg")


def _issue(world, side="a", **kwargs):
    place = getattr(world, side)
    kwargs.setdefault("category", world.noise)
    kwargs.setdefault("reporter", place.resident)
    return IssueFactory(building=place.building, **kwargs)


def _report_data(world, **extra):
    data = {
        "category": str(world.noise.pk),
        "description": "楼上每晚十一点后装修, 电钻声很响",
        "building": str(world.a.building.pk),
        "address": "",
    }
    data.update(extra)
    return data


# --- the list -------------------------------------------------------------------------------


def test_a_user_who_is_not_verified_is_told_how_to_verify(issue_world, login):
    client = login(UserFactory(verified=False))
    response = client.get(reverse("issues:list"))
    assert response.status_code == 200
    assert reverse("me:verify") in response.content.decode()
    assert response.context.get("page_obj") is None


def test_the_list_shows_the_residents_neighbourhood_only(issue_world, login):
    mine = _issue(issue_world, description="甲的楼道堆物")
    theirs = _issue(issue_world, "b", description="乙的楼道堆物")
    client = login(issue_world.a.neighbour)
    page = client.get(reverse("issues:list")).content.decode()
    assert "甲的楼道堆物" in page
    assert "乙的楼道堆物" not in page
    assert reverse("issues:detail", args=[mine.pk]) in page
    assert reverse("issues:detail", args=[theirs.pk]) not in page


def test_the_list_filters_and_sorts_by_get_parameters(issue_world, login):
    quiet = _issue(issue_world, description="安静的一条")
    loud = _issue(issue_world, description="热门的一条", upvote_count=7)
    passage = _issue(issue_world, category=issue_world.passage, description="通道堵了")
    client = login(issue_world.a.neighbour)
    by_votes = client.get(reverse("issues:list"), {"sort": "upvotes"}).context["page_obj"]
    assert list(by_votes.object_list)[0] == loud
    noise_only = client.get(reverse("issues:list"), {"category": issue_world.noise.pk})
    assert set(noise_only.context["page_obj"].object_list) == {quiet, loud}
    assert passage not in noise_only.context["page_obj"].object_list


@pytest.mark.parametrize("count", [1, 25])
def test_the_list_has_a_fixed_number_of_queries(
    issue_world, login, count, django_assert_max_num_queries
):
    for _ in range(count):
        _issue(issue_world)
    client = login(issue_world.a.neighbour)
    client.get(reverse("issues:list"))  # warm the session and the caches
    with django_assert_max_num_queries(8):  # no COUNT: the page is cut on a cursor
        response = client.get(reverse("issues:list"), {"sort": "updated"})
    assert len(response.context["page_obj"].object_list) == min(count, 20)


def test_mine_lists_the_users_reports_only(issue_world, login):
    own = _issue(issue_world, description="我自己报的")
    _issue(issue_world, reporter=issue_world.a.neighbour, description="邻居报的")
    page = login(issue_world.a.resident).get(reverse("issues:mine")).content.decode()
    assert "我自己报的" in page and "邻居报的" not in page
    assert reverse("issues:detail", args=[own.pk]) in page


# --- scoping -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["upvote", "follow", "comment", "confirm", "reopen"])
def test_a_resident_of_b_gets_404_on_the_posts_of_as_report(issue_world, login, name):
    issue = _issue(issue_world)
    client = login(issue_world.b.resident)
    response = client.post(reverse(f"issues:{name}", args=[issue.pk]), {"text": "x"})
    assert response.status_code == 404
    assert not Upvote.objects.filter(issue=issue).exists()


def test_a_resident_of_b_gets_404_on_as_report(issue_world, login):
    issue = _issue(issue_world)
    assert (
        login(issue_world.b.resident).get(reverse("issues:detail", args=[issue.pk])).status_code
        == 404
    )
    assert (
        login(issue_world.a.neighbour).get(reverse("issues:detail", args=[issue.pk])).status_code
        == 200
    )


def test_the_reporter_sees_their_report_from_anywhere(issue_world, login):
    issue = _issue(issue_world, reporter=issue_world.b.resident)
    response = login(issue_world.b.resident).get(reverse("issues:detail", args=[issue.pk]))
    assert response.status_code == 200


def test_a_merged_report_leads_to_its_target(issue_world, login):
    target = _issue(issue_world)
    merged = _issue(issue_world, status=Status.MERGED, merged_into=target)
    response = login(issue_world.a.neighbour).get(reverse("issues:detail", args=[merged.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("issues:detail", args=[target.pk])


def test_the_reporters_name_shows_only_when_public(issue_world, login):
    hidden = _issue(issue_world, reporter_public=False)
    shown = _issue(issue_world, reporter_public=True)
    client = login(issue_world.a.neighbour)
    name = re.compile(r"甲居民(?!区)")
    assert not name.search(client.get(reverse("issues:detail", args=[hidden.pk])).content.decode())
    assert name.search(client.get(reverse("issues:detail", args=[shown.pk])).content.decode())


# --- upvotes, follows, comments --------------------------------------------------------------


def test_upvote_toggles_through_the_page_endpoint(issue_world, login):
    issue = _issue(issue_world)
    client = login(issue_world.a.neighbour)
    url = reverse("issues:upvote", args=[issue.pk])
    first = client.post(url, HTTP_ACCEPT="application/json")
    assert first.json() == {"upvoted": True, "count": 1}
    issue.refresh_from_db()
    assert issue.upvote_count == 1
    second = client.post(url, HTTP_ACCEPT="application/json")
    assert second.json() == {"upvoted": False, "count": 0}
    # without JavaScript: a plain form post, back to the report
    plain = client.post(url)
    assert plain.status_code == 302
    assert plain["Location"] == reverse("issues:detail", args=[issue.pk])
    issue.refresh_from_db()
    assert issue.upvote_count == 1


def test_follow_toggles(issue_world, login):
    issue = _issue(issue_world)
    client = login(issue_world.a.neighbour)
    url = reverse("issues:follow", args=[issue.pk])
    assert client.post(url, HTTP_ACCEPT="application/json").json() == {"following": True}
    assert client.post(url, HTTP_ACCEPT="application/json").json() == {"following": False}


def test_a_comment_lands_on_the_timeline(issue_world, login):
    issue = _issue(issue_world)
    client = login(issue_world.a.neighbour)
    response = client.post(reverse("issues:comment", args=[issue.pk]), {"text": "我家也听到了"})
    assert response.status_code == 302
    page = client.get(reverse("issues:detail", args=[issue.pk])).content.decode()
    assert "我家也听到了" in page


# --- the reporter's confirm and reopen ----------------------------------------------------------


def test_only_the_reporter_may_confirm_or_reopen(issue_world, login):
    issue = _issue(issue_world, status=Status.RESOLVED)
    neighbour = login(issue_world.a.neighbour)
    assert (
        neighbour.post(reverse("issues:confirm", args=[issue.pk]), {"rating": "5"}).status_code
        == 404
    )
    assert (
        neighbour.post(reverse("issues:reopen", args=[issue.pk]), {"reason": "还在响"}).status_code
        == 404
    )
    assert "issues/detail.html" in [
        t.name for t in neighbour.get(reverse("issues:detail", args=[issue.pk])).templates
    ]
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED


def test_the_reporter_confirms_and_rates(issue_world, login):
    issue = _issue(issue_world, status=Status.RESOLVED)
    client = login(issue_world.a.resident)
    page = client.get(reverse("issues:detail", args=[issue.pk]))
    assert page.context["confirm_form"] is not None and page.context["reopen_form"] is not None
    response = client.post(
        reverse("issues:confirm", args=[issue.pk]), {"rating": "4", "comment": "挺快"}
    )
    assert response.status_code == 302
    issue.refresh_from_db()
    assert (issue.status, issue.rating) == (Status.CLOSED, 4)


def test_the_reporter_reopens_a_resolved_report(issue_world, login):
    issue = _issue(issue_world, status=Status.RESOLVED)
    client = login(issue_world.a.resident)
    response = client.post(reverse("issues:reopen", args=[issue.pk]), {"reason": "还在响"})
    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.status == Status.IN_PROGRESS


def test_confirming_a_report_that_is_not_resolved_shows_why(issue_world, login):
    issue = _issue(issue_world, status=Status.SUBMITTED)
    client = login(issue_world.a.resident)
    response = client.post(
        reverse("issues:confirm", args=[issue.pk]), {"rating": "5", "comment": "好"}
    )
    assert response.status_code == 400
    form = response.context["confirm_form"]
    assert form.non_field_errors()
    assert form["comment"].value() == "好"
    issue.refresh_from_db()
    assert issue.status == Status.SUBMITTED


# --- reporting ------------------------------------------------------------------------------


def test_a_verified_resident_reports_with_a_photo(issue_world, login):
    client = login(issue_world.a.resident)
    form_page = client.get(reverse("issues:create"))
    assert form_page.context["form"]["building"].value() == issue_world.a.building.pk
    response = client.post(
        reverse("issues:create"), {**_report_data(issue_world), "photos": [_png()]}
    )
    assert response.status_code == 302
    issue = Issue.objects.get()
    assert response["Location"] == reverse("issues:detail", args=[issue.pk])
    assert issue.reporter == issue_world.a.resident
    assert issue.building == issue_world.a.building
    photo = IssuePhoto.objects.get(issue=issue)
    # the photo is served to who may see the report, and to no one else
    thumb = reverse("issues:photo", args=[issue.pk, photo.pk, "thumb"])
    assert thumb in client.get(response["Location"]).content.decode()
    served = login(issue_world.a.neighbour).get(thumb)
    assert served.status_code == 200 and served["Content-Type"].startswith("image/")
    assert login(issue_world.b.resident).get(thumb).status_code == 404
    full = reverse("issues:photo", args=[issue.pk, photo.pk, "full"])
    assert login(issue_world.b.resident).get(full).status_code == 404


def test_the_places_offered_are_the_residents_neighbourhoods(issue_world, login):
    client = login(issue_world.a.resident)
    response = client.post(
        reverse("issues:create"), _report_data(issue_world, building=issue_world.b.building.pk)
    )
    assert response.status_code == 400
    assert response.context["form"].errors["building"]
    assert not Issue.objects.exists()


@pytest.mark.parametrize("bad", [_bomb, _not_an_image], ids=["bomb", "renamed-text"])
def test_the_form_keeps_the_other_fields_and_photos_on_an_image_error(issue_world, login, bad):
    client = login(issue_world.a.resident)
    data = _report_data(issue_world, reporter_public="on")
    response = client.post(reverse("issues:create"), {**data, "photos": [_png(), bad()]})
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["photos"] and list(form.errors) == ["photos"]
    page = response.content.decode()
    # the message is next to the photo field; everything typed is still there
    photo_box = page[page.index('name="photos"') - 1500 : page.index('name="photos"')]
    assert form.errors["photos"][0] in photo_box.replace("&quot;", '"').replace("&#x27;", "'")
    assert data["description"] in page
    assert form["building"].value() == str(issue_world.a.building.pk)
    assert form["reporter_public"].value() is True
    assert len(form.kept) == 1  # the good photo is kept in storage, signed
    token = form["pending_photos"].value()
    assert token and token in page
    assert not Issue.objects.exists()
    # the final submit: no photo chosen again, the kept one is attached
    final = client.post(reverse("issues:create"), {**data, "pending_photos": token})
    assert final.status_code == 302
    issue = Issue.objects.get()
    assert IssuePhoto.objects.filter(issue=issue).count() == 1
    assert issue.reporter_public is True
    assert not default_storage.exists(form.kept[0])  # the pending copy is gone


def test_a_forged_or_foreign_pending_token_carries_no_photos(issue_world, login):
    client = login(issue_world.a.resident)
    bad = client.post(
        reverse("issues:create"), {**_report_data(issue_world), "photos": [_png(), _bomb()]}
    )
    token = bad.context["form"]["pending_photos"].value()
    other = login(issue_world.a.neighbour)
    response = other.post(
        reverse("issues:create"), {**_report_data(issue_world), "pending_photos": token}
    )
    assert response.status_code == 302
    assert not IssuePhoto.objects.exists()
    forged = other.post(
        reverse("issues:create"), {**_report_data(issue_world), "pending_photos": token + "x"}
    )
    assert forged.status_code == 302
    assert not IssuePhoto.objects.exists()


def test_the_chosen_categorys_attributes_are_checked(issue_world, login):
    CategoryAttributeFactory(
        category=issue_world.noise,
        code="floor",
        datatype="number",
        required=True,
        description_zh="几楼",
        description_en="Which floor",
    )
    client = login(issue_world.a.resident)
    response = client.post(reverse("issues:create"), _report_data(issue_world))
    assert response.status_code == 400
    name = f"attr_{issue_world.noise.pk}_floor"
    assert response.context["form"].errors[name]
    ok = client.post(reverse("issues:create"), {**_report_data(issue_world), name: "12"})
    assert ok.status_code == 302
    assert Issue.objects.get().attributes == {"floor": 12}


def test_a_user_who_is_not_verified_cannot_report(issue_world, login):
    client = login(UserFactory(verified=False))
    response = client.post(reverse("issues:create"), _report_data(issue_world))
    assert response.status_code == 200
    assert reverse("me:verify") in response.content.decode()
    assert not Issue.objects.exists()


def test_similar_open_reports_come_as_a_fragment(issue_world, login):
    same = _issue(issue_world, description="同一栋楼的噪音")
    _issue(issue_world, "b", description="别的小区的噪音")
    client = login(issue_world.a.neighbour)
    response = client.get(
        reverse("issues:similar"),
        {"category": issue_world.noise.pk, "building": issue_world.a.building.pk},
        HTTP_X_LINLI_PARTIAL="similar",
    )
    page = response.content.decode()
    assert "<html" not in page
    assert "同一栋楼的噪音" in page and "别的小区的噪音" not in page
    assert reverse("issues:upvote", args=[same.pk]) in page
    full = client.get(reverse("issues:similar"), {"category": issue_world.noise.pk})
    assert "<html" in full.content.decode()


def test_a_question_on_the_form_gets_no_colon_after_its_question_mark(issue_world, login):
    page = login(issue_world.a.resident).get(reverse("issues:create")).content.decode()
    assert "是否有人被困？" in page  # a seeded question, in the form
    for doubled in ("?：", "？：", "?:", "？:"):
        assert doubled not in page
