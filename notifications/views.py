"""The inbox, its badge and the notification settings: the user's own rows only."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.pages import account_page

from .kinds import CHOOSABLE_CHANNELS, EMAIL, SMS
from .selectors import (
    access_notification,
    notifications_visible_to,
    preference_rows,
    unread_count,
)
from .services import mark_all_read, mark_read, preferences_save

PAGE_SIZE = 20


def _list_url(page) -> str:
    url = reverse("notifications:list")
    try:
        number = int(page)
    except (TypeError, ValueError):
        return url
    return f"{url}?page={number}" if number > 1 else url


@account_page
@require_GET
def inbox(request):
    paginator = Paginator(notifications_visible_to(user=request.user), PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {"page_obj": page_obj, "unread": unread_count(user=request.user)},
    )


@account_page
@require_POST
def read_one(request, pk):
    notification = access_notification(user=request.user, pk=pk)
    mark_read(user=request.user, notification_id=notification.pk)
    return redirect(_list_url(request.POST.get("page")))


@account_page
@require_POST
def read_all(request):
    mark_all_read(user=request.user)
    messages.success(request, _("All notifications are marked as read."))
    return redirect("notifications:list")


@account_page
@require_GET
def badge(request):
    """The badge fragment the header refreshes every 60 seconds."""
    return render(
        request,
        "notifications/badge.html",
        {"unread": unread_count(user=request.user)},
    )


@account_page
@require_http_methods(["GET", "POST"])
def preferences(request):
    if request.method == "POST":
        enabled = set()
        for value in request.POST.getlist("pref"):
            kind, _sep, channel = value.partition("|")
            if channel in CHOOSABLE_CHANNELS:
                enabled.add((kind, channel))
        preferences_save(
            user=request.user, enabled=enabled, digest=bool(request.POST.get("digest"))
        )
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notifications:settings")
    rows, digest = preference_rows(user=request.user)
    return render(
        request,
        "notifications/settings.html",
        {
            "rows": rows,
            "digest": digest,
            "channel_labels": [(SMS, _("SMS")), (EMAIL, _("E-mail"))],
        },
    )
