"""``{% notifications_badge %}``: the header link with the unread count (cached per user)."""

from django import template

from ..selectors import unread_count

register = template.Library()


@register.inclusion_tag("notifications/badge.html", takes_context=True)
def notifications_badge(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread": 0, "hidden": True}
    match = getattr(request, "resolver_match", None)
    return {
        "unread": unread_count(user=user),
        "current_page": bool(match and match.namespace == "notifications"),
    }
