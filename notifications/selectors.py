"""Reads of the notifications app: a user's own inbox, their unread count, preferences."""

from __future__ import annotations

import contextlib

from django.core.cache import cache
from django.http import Http404

from .kinds import CHOOSABLE_CHANNELS, DIGEST_CHANNEL, DIGEST_KIND, kinds
from .models import Notification, Preference

UNREAD_CACHE_SECONDS = 300


def notifications_visible_to(*, user):
    """The user's own notifications, newest first (never anyone else's)."""
    return Notification.objects.filter(recipient=user).order_by("-id")


def access_notification(*, user, pk) -> Notification:
    """The user's notification; Http404 for another user's and a missing one alike."""
    try:
        return Notification.objects.get(pk=pk, recipient=user)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _unread_key(user_id) -> str:
    return f"linli:notifications:unread:{user_id}"


def unread_count(*, user) -> int:
    """The badge's number: cached per user, forgotten by every write that changes it."""
    key = _unread_key(user.pk)
    try:
        cached = cache.get(key)
    except Exception:  # noqa: BLE001 - the cache is an optimisation; the database answers
        cached = None
    if cached is not None:
        return cached
    count = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
    with contextlib.suppress(Exception):  # see above
        cache.set(key, count, UNREAD_CACHE_SECONDS)
    return count


def forget_unread_counts(user_ids) -> None:
    with contextlib.suppress(Exception):  # the entries expire on their own
        cache.delete_many([_unread_key(user_id) for user_id in user_ids])


def preference_map(*, user_ids, kind_codes) -> dict[tuple[int, str, str], bool]:
    """(user id, kind, channel) -> enabled, for the rows the users have saved."""
    rows = Preference.objects.filter(user_id__in=user_ids, kind__in=kind_codes).values_list(
        "user_id", "kind", "channel", "enabled"
    )
    return {(user_id, kind, channel): enabled for user_id, kind, channel, enabled in rows}


def channel_enabled(prefs, *, user_id, kind, channel) -> bool:
    """A channel is on for a kind when the user said so, else when the kind's default is;
    a kind that is not optional always uses its default channels."""
    if not kind.optional:
        return channel in kind.default_channels
    return prefs.get((user_id, kind.code, channel), channel in kind.default_channels)


def digest_enabled(prefs, *, user_id) -> bool:
    return prefs.get((user_id, DIGEST_KIND, DIGEST_CHANNEL), False)


def preference_rows(*, user) -> tuple[list[dict], bool]:
    """The settings page: one row per kind with its channels' state, and the digest flag."""
    all_kinds = kinds()
    prefs = preference_map(
        user_ids=[user.pk], kind_codes=[kind.code for kind in all_kinds] + [DIGEST_KIND]
    )
    rows = []
    for kind in all_kinds:
        rows.append(
            {
                "kind": kind,
                "channels": [
                    {
                        "channel": channel,
                        "enabled": channel_enabled(
                            prefs, user_id=user.pk, kind=kind, channel=channel
                        ),
                        "locked": not kind.optional,
                    }
                    for channel in CHOOSABLE_CHANNELS
                ],
            }
        )
    return rows, digest_enabled(prefs, user_id=user.pk)
