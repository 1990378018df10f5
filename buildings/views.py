"""The home page: what Linli is (anonymous), or the places a signed-in user holds."""

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from core.pages import public_page

from .selectors import cadre_overview_for, owned_dwellings_for, role_places_for


def _admin_change_url(obj):
    opts = obj._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:  # the model is not in the admin
        return None


@public_page
def home(request):
    """What Linli is (anonymous) or the user's places (signed in)."""
    user = request.user
    if not user.is_authenticated:
        return render(request, "home.html", {})
    overview = cadre_overview_for(user=user)
    if overview is not None:
        overview.due_elevators = [
            (elevator, _admin_change_url(elevator)) for elevator in overview.due_elevators
        ]
    return render(
        request,
        "home.html",
        {
            "role_places": role_places_for(user=user),
            "dwellings": list(owned_dwellings_for(user=user)),
            "overview": overview,
        },
    )
