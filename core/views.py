"""Site-wide pages that belong to no domain."""

from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from .pages import public_page


@public_page
@require_safe
def favicon(request):
    """Browsers and the admin ask for /favicon.ico; the icon is the site's SVG."""
    return redirect(static("img/favicon.svg"), permanent=True)
