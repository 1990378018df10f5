"""Template context every page shares.

``staff_links``: the staff pages of the site navigation the signed-in user may open
(core.pages.register_staff_link). It is lazy: a template that never reads it (a partial,
an e-mail) costs nothing, and one that does costs one scope per permission, which
``core.scoping`` caches for the rest of the request.
"""

from django.utils.functional import SimpleLazyObject

from core.pages import staff_links_for


def navigation(request):
    user = getattr(request, "user", None)
    return {"staff_links": SimpleLazyObject(lambda: staff_links_for(user))}
