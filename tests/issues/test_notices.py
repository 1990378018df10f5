"""What issue reporting registers (kinds, webhook events), the messages its notices read
and the webhooks its moves publish."""

import socket

import pytest
from django.utils import translation

from core.services import api_key_create
from issues.models import Status
from issues.services import (
    issue_acknowledge,
    issue_comment,
    issue_commit,
    issue_resolve,
    issues_escalate_due,
)
from notifications.kinds import INBOX, SMS, get_kind
from tests.factories import UserFactory
from webhooks.apps import WEBHOOKS_MANAGE
from webhooks.events import is_event
from webhooks.models import WebhookDelivery
from webhooks.services import subscription_create

from .helpers import notices, report

pytestmark = pytest.mark.django_db


def test_kinds_and_events_are_registered():
    new, update, escalated = (get_kind(c) for c in ("issue.new", "issue.update", "issue.escalated"))
    assert new.default_channels == (INBOX, SMS) and not new.optional
    assert update.default_channels == (INBOX,) and update.optional
    assert escalated.default_channels == (INBOX, SMS) and not escalated.optional
    assert all(is_event(e) for e in ("issue.created", "issue.updated", "issue.resolved"))


def test_the_messages_name_the_report(issue_world):
    w = issue_world
    issue = report(w)
    (notice,) = notices("issue.new", issue)
    assert f"#{issue.pk}" in notice.subject
    assert "甲花园 1号楼" in notice.subject
    assert issue.description[:10] in notice.body
    issue_acknowledge(issue=issue, actor=w.a.property_staff, note="马上处理")
    (update,) = notices("issue.update", issue)
    assert update.recipient_id == w.a.resident.pk
    assert "马上处理" in update.body and f"#{issue.pk}" in update.subject


def test_messages_in_english(issue_world):
    w = issue_world
    w.a.property_staff.language = "en"
    w.a.property_staff.save()
    with translation.override("en"):
        issue = report(w)
    (notice,) = notices("issue.new", issue)
    assert notice.subject.startswith(f"New report #{issue.pk}")


def test_one_notice_per_step(issue_world):
    w = issue_world
    issue = report(w)
    issue_comment(issue=issue, actor=w.a.neighbour, text="我也看到了")
    issue_comment(issue=issue, actor=w.a.neighbour, text="还在")
    # two steps, two notices to the reporter (each keyed by its step)
    assert notices("issue.update", issue).filter(recipient=w.a.resident).count() == 2


# --- webhooks ----------------------------------------------------------------------------


@pytest.fixture
def subscription(issue_world, monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr("webhooks.guard.socket.getaddrinfo", getaddrinfo)
    key, _full = api_key_create(
        name="区平台",
        scopes=[WEBHOOKS_MANAGE],
        place=issue_world.a.neighbourhood,
        created_by=UserFactory(),
    )
    return subscription_create(
        api_key=key,
        url="https://hooks.example.org/in",
        events=["issue.created", "issue.updated", "issue.resolved"],
    )


def test_moves_publish_webhooks(issue_world, subscription):
    w = issue_world
    from django.utils import timezone

    issue = report(w, contact_phone="13800000000")
    other = report(w, side=w.b)  # the key does not cover B
    issue = issue_acknowledge(issue=issue, actor=w.a.property_staff)
    issue_comment(issue=issue, actor=w.a.property_staff, text="内部", internal=True)
    issue = issue_commit(issue=issue, actor=w.a.property_staff, committed_due=timezone.localdate())
    issue = issue_resolve(issue=issue, actor=w.a.property_staff, note="好了")
    types = list(WebhookDelivery.objects.order_by("id").values_list("event_type", flat=True))
    assert types == [
        "issue.created",
        "issue.updated",
        "issue.updated",
        "issue.updated",
        "issue.resolved",
    ]
    last = WebhookDelivery.objects.order_by("id").last().payload["data"]
    assert last["id"] == issue.pk and last["status"] == Status.RESOLVED
    assert all("13800000000" not in str(d.payload) for d in WebhookDelivery.objects.all())
    assert not WebhookDelivery.objects.filter(payload__data__id=other.pk).exists()


def test_escalation_publishes(issue_world, subscription):
    import datetime

    issue = report(issue_world)
    issues_escalate_due(now=issue.due_at + datetime.timedelta(hours=1))
    data = WebhookDelivery.objects.order_by("id").last().payload["data"]
    assert data["handler_level"] == "committee" and data["escalations"] == 1
