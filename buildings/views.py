"""The home page: what Linli is (anonymous), or the places a signed-in user holds."""

from django.shortcuts import render

from core.pages import public_page

from .home import home_for


@public_page
def home(request):
    """What Linli is (anonymous) or the user's places (signed in; cached, buildings.home)."""
    user = request.user
    if not user.is_authenticated:
        return render(request, "home.html", {})
    page = home_for(user=user)
    return render(
        request,
        "home.html",
        {"role_places": page.role_places, "dwellings": page.dwellings, "overview": page.overview},
    )
