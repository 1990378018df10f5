"""The inbox, its badge, the settings page: own rows only, fixed queries, both languages."""

import pytest
from django.urls import reverse
from django.utils import translation

from notifications.apps import ACCOUNT_NOTICE
from notifications.kinds import EMAIL, SMS
from notifications.models import Notification, Preference
from notifications.services import mark_all_read, mark_read, notify
from tests.factories import UserFactory

from .conftest import SAMPLE, require_translation

pytestmark = pytest.mark.django_db


def _notices(user, n, **context):
    for i in range(n):
        notify(
            recipients=[user],
            kind=ACCOUNT_NOTICE,
            key=f"k{i}",
            url=f"/me/?n={i}",
            context={"title": f"通知{i}", **context},
        )


@pytest.fixture
def user():
    return UserFactory()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("notifications:list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("count", [3, 45])
def test_the_inbox_pages_in_a_fixed_number_of_queries(
    user, login, count, django_assert_max_num_queries
):
    _notices(user, count)
    client = login(user)
    # a process's first page fills Django's content-type cache (the nav's scope): not
    # the inbox's cost, and not always paid, so it is paid here before counting
    client.get(reverse("notifications:list"))
    with django_assert_max_num_queries(8):
        response = client.get(reverse("notifications:list"))
    assert response.status_code == 200
    assert len(response.context["page_obj"].object_list) == min(count, 20)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("notifications:list"), {"page": 3})
    assert response.status_code == 200


def test_each_notice_links_to_its_object_and_is_marked_read(user, login):
    _notices(user, 2)
    client = login(user)
    page = client.get(reverse("notifications:list")).content.decode()
    assert 'href="/me/?n=0"' in page and "通知1" in page
    notice = Notification.objects.get(subject="通知0")
    assert client.get(reverse("notifications:read", args=[notice.pk])).status_code == 405
    response = client.post(reverse("notifications:read", args=[notice.pk]))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert Notification.objects.filter(recipient=user, read_at__isnull=True).count() == 1
    client.post(reverse("notifications:read_all"))
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()


def test_another_users_notification_is_a_404(user, login):
    other = UserFactory()
    _notices(other, 1)
    theirs = Notification.objects.get(recipient=other)
    client = login(user)
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notifications:read", args=[999999])).status_code == 404
    client.post(reverse("notifications:read_all"))
    theirs.refresh_from_db()
    assert theirs.read_at is None
    page = client.get(reverse("notifications:list")).content.decode()
    assert "通知0" not in page


def test_marking_read_needs_the_csrf_token(user):
    from django.test import Client

    _notices(user, 1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    notice = Notification.objects.get(recipient=user)
    assert client.post(reverse("notifications:read", args=[notice.pk])).status_code == 403
    assert client.post(reverse("notifications:read_all")).status_code == 403


def test_the_header_badge_counts_unread_cheaply_and_follows_changes(
    user, login, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    client = login(user)
    with django_capture_on_commit_callbacks(execute=True):
        _notices(user, 3)
    badge = client.get(reverse("notifications:badge")).content.decode()
    assert 'data-unread="3"' in badge and 'hx-trigger="every 60s"' in badge
    # cached: the second render asks the database nothing for the count
    with django_assert_max_num_queries(2):  # session and user only
        client.get(reverse("notifications:badge"))
    home = client.get(reverse("home")).content.decode()
    assert 'data-unread="3"' in home
    with django_capture_on_commit_callbacks(execute=True):
        mark_read(user=user, notification_id=Notification.objects.first().pk)
    assert 'data-unread="2"' in client.get(reverse("notifications:badge")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        mark_all_read(user=user)
    assert "data-unread" not in client.get(reverse("notifications:badge")).content.decode()


def test_settings_page_saves_choices_and_locks_kinds_that_cannot_be_turned_off(
    user, login, sample_kind
):
    client = login(user)
    page = client.get(reverse("notifications:settings")).content.decode()
    assert f'value="{ACCOUNT_NOTICE}|{SMS}"' in page
    locked = page.split(f'value="{ACCOUNT_NOTICE}|{SMS}"')[1].split(">")[0]
    assert "disabled" in locked
    sample = page.split(f'value="{SAMPLE}|{SMS}"')[1].split(">")[0]
    assert "checked" in sample and "disabled" not in sample

    response = client.post(
        reverse("notifications:settings"),
        {"pref": [f"{SAMPLE}|{EMAIL}", f"{ACCOUNT_NOTICE}|{SMS}"], "digest": "1"},
    )
    assert response.status_code == 302
    saved = set(
        Preference.objects.filter(user=user, kind__in=[SAMPLE, ACCOUNT_NOTICE, "*"]).values_list(
            "kind", "channel", "enabled"
        )
    )
    # only what differs from the defaults is kept; the locked kind is left as it is
    assert saved == {(SAMPLE, SMS, False), ("*", "email_digest", True)}
    # turned off on the page: nothing on that channel
    notify(recipients=[user], kind=SAMPLE)
    assert not user.notification_deliveries.filter(channel=SMS).exists()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_pages_render_in_both_languages(user, login, language):
    if language == "zh-hans":
        require_translation("Mark all as read")
    _notices(user, 1)
    client = login(user)
    client.cookies["django_language"] = language
    expected = {"en": ["Mark all as read", "Notification settings"], "zh-hans": []}
    with translation.override(language):
        expected["zh-hans"] = [translation.gettext("Mark all as read")]
        inbox = client.get(reverse("notifications:list"), HTTP_ACCEPT_LANGUAGE=language)
        settings_page = client.get(reverse("notifications:settings"), HTTP_ACCEPT_LANGUAGE=language)
    assert inbox.status_code == settings_page.status_code == 200
    for text in expected[language]:
        assert text in inbox.content.decode()
    if language == "en":
        assert "Save" in settings_page.content.decode()
    else:
        assert "保存" in settings_page.content.decode()


def test_english_recipients_get_english_notices(sample_kind):
    en = UserFactory(language="en")
    [notice] = notify(recipients=[en], kind=SAMPLE)
    assert notice.subject == "A notice about your Linli account"
