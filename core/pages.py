"""Who may open an HTML page: one mark on every view, so that none is left unguarded.

Each view in the URL conf carries exactly one of these (the walk test,
tests/core/test_scoped_walk.py, fails on a view that carries none):

* ``@staff_page(perm)``: staff pages over place-bound rows. Sign-in required (else the
  login page); the user's scope for ``perm`` (``core.scoping.scope_for``) is built and
  handed to the view as ``request.scope``; a user whose scope is empty is refused -
  with a 403 and the page's ``denied`` message for a page a resident may know of (a
  list, a form), or with a 404 when no message is given (an object's page: the same
  answer as for an object outside the scope). ``StaffPageMixin`` does the same for a
  class-based view.
* ``@public_page``: anyone, signed in or not (the home page, the visitor form behind a
  household's link, the health probes, sign-in).
* ``@account_page``: sign-in only; the page acts on the user's own account (/accounts/).
* ``@resident_page``: sign-in only; the page acts on the user's own data and household
  (/me/); stack ``require_verified`` under it where the feature needs a verified account.
* ``@superuser_page``: superusers only (403 for anyone else signed in).

The marks work on function views and on class-based views (the mark is read from
``as_view()``'s ``view_class``). :func:`page_kind` and :func:`page_permission` read them.

Staff links in the site navigation come from the same marks: an app registers a link
with :func:`register_staff_link` (in its ``AppConfig.ready()``) by URL name, and the
link is shown to a user whose scope for that page's ``staff_page`` permission is not
empty - the permission is read from the view, never written twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404
from django.urls import NoReverseMatch, resolve, reverse
from django.utils.decorators import method_decorator

from core.scoping import scope_for

PAGE_MARK = "linli_page"
PERMISSION_MARK = "linli_page_permission"

PUBLIC, ACCOUNT, RESIDENT, STAFF, SUPERUSER = (
    "public",
    "account",
    "resident",
    "staff",
    "superuser",
)
PAGE_KINDS = frozenset({PUBLIC, ACCOUNT, RESIDENT, STAFF, SUPERUSER})


def _mark(view, kind: str, perm=None):
    setattr(view, PAGE_MARK, kind)
    if perm is not None:
        setattr(view, PERMISSION_MARK, perm)
    return view


def page_kind(view) -> str | None:
    """The mark of a URL callback: a marked function, or ``as_view()`` of a marked class."""
    kind = getattr(view, PAGE_MARK, None)
    if kind is None:
        kind = getattr(getattr(view, "view_class", None), PAGE_MARK, None)
    return kind if kind in PAGE_KINDS else None


def page_permission(view):
    """The permission a staff page's scope is built for (None for other pages)."""
    perm = getattr(view, PERMISSION_MARK, None)
    if perm is None:
        perm = getattr(getattr(view, "view_class", None), PERMISSION_MARK, None)
    return perm


# --- staff pages ----------------------------------------------------------------------------


def _staff_scope(request, perm, denied):
    """The user's scope for ``perm``, or the refusal (see the module docstring)."""
    scope = scope_for(request.user, perm)
    if scope.is_empty:
        if denied is None:
            raise Http404
        raise PermissionDenied(str(denied))
    request.scope = scope
    return scope


def staff_page(perm, *, denied=None):
    """Decorator for a staff function view over the user's scope for ``perm``.

    ``denied``: the message of the 403 for a signed-in user with an empty scope;
    without it that user gets a 404.
    """
    if not perm:
        raise ValueError("staff_page needs the permission whose scope the page shows")

    def decorator(view):
        if isinstance(view, type):
            raise TypeError(f"{view.__name__}: use StaffPageMixin on a class-based view")

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            _staff_scope(request, perm, denied)
            return view(request, *args, **kwargs)

        return _mark(wrapper, STAFF, perm)

    return decorator


class StaffPageMixin:
    """``staff_page`` for a class-based view: set ``page_permission`` (and ``page_denied``)."""

    page_permission: str | tuple[str, ...] = ()
    page_denied = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.page_permission:
            _mark(cls, STAFF, cls.page_permission)

    def dispatch(self, request, *args, **kwargs):
        if not self.page_permission:
            raise ImproperlyConfigured(f"{type(self).__name__} names no page_permission")
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        self.scope = _staff_scope(request, self.page_permission, self.page_denied)
        return super().dispatch(request, *args, **kwargs)


# --- pages deliberately not staff-scoped ------------------------------------------------------


def public_page(view):
    """Anyone may open the page, signed in or not. Only marks the view."""
    return _mark(view, PUBLIC)


def _signed_in(view, kind):
    if isinstance(view, type):
        return _mark(method_decorator(login_required, name="dispatch")(view), kind)
    return _mark(login_required(view), kind)


def account_page(view):
    """Sign-in required; the page acts on the user's own account."""
    return _signed_in(view, ACCOUNT)


def resident_page(view):
    """Sign-in required; the page acts on the user's own data and household."""
    return _signed_in(view, RESIDENT)


def _require_superuser(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not (request.user.is_active and request.user.is_superuser):
        raise PermissionDenied
    return None


def superuser_page(view):
    """Superusers only: the login page for a visitor, 403 for anyone else."""
    if isinstance(view, type):
        dispatch = view.dispatch

        def guarded_dispatch(self, request, *args, **kwargs):
            return _require_superuser(request) or dispatch(self, request, *args, **kwargs)

        view.dispatch = wraps(dispatch)(guarded_dispatch)
        return _mark(view, SUPERUSER)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        return _require_superuser(request) or view(request, *args, **kwargs)

    return _mark(wrapper, SUPERUSER)


# --- staff links in the site navigation -------------------------------------------------------


@dataclass(frozen=True)
class StaffLink:
    """A staff page in the navigation. Its URL and permission are worked out once per
    process (every signed-in page renders the navigation; the URL conf does not change)."""

    url_name: str  # e.g. "registry:reports"
    label: object  # a lazy translation

    @cached_property
    def url(self) -> str:
        return reverse(self.url_name)

    @cached_property
    def permission(self):
        """The permission of the linked page's ``staff_page`` (read from the view)."""
        try:
            view = resolve(self.url).func
        except NoReverseMatch as exc:
            raise ImproperlyConfigured(f"staff link {self.url_name!r}: {exc}") from None
        if page_kind(view) != STAFF:
            raise ImproperlyConfigured(
                f"staff link {self.url_name!r} points at a view that is not a staff_page"
            )
        return page_permission(view)


_STAFF_LINKS: dict[str, StaffLink] = {}


def register_staff_link(url_name: str, label) -> StaffLink:
    """Add a staff page to the site navigation (in registration order; again: replaced)."""
    link = StaffLink(url_name, label)
    _STAFF_LINKS[url_name] = link
    return link


def unregister_staff_link(url_name: str) -> None:
    _STAFF_LINKS.pop(url_name, None)


def staff_links() -> list[StaffLink]:
    return list(_STAFF_LINKS.values())


def staff_links_for(user) -> list[dict]:
    """The registered staff links ``user`` may open: ``[{"url_name", "url", "label"}]``.

    One scope per distinct permission, and ``core.scoping`` caches it on the user for
    the request: the cost does not grow with the number of links.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    shown = []
    for link in _STAFF_LINKS.values():
        if not scope_for(user, link.permission).is_empty:
            shown.append({"url_name": link.url_name, "url": link.url, "label": link.label})
    return shown
