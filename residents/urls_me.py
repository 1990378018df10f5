"""Pages for residents and their visitors (no staff pages here), included at the root:

* /me/... in the "me" namespace: the resident's home, verification, visitors, own data;
* /visit/<token>/ (names "visit", "visit_done"): the public visitor form a
  household shares; no account needed.
"""

from django.urls import include, path

from . import views_me, views_verification, views_visitors

me_patterns = [
    path("", views_me.me_home, name="home"),
    path("verify/", views_verification.verify, name="verify"),
    path("data/", views_me.me_data, name="data"),
    path("data/download.json", views_me.me_data_json, name="data_json"),
    path("data/download.xlsx", views_me.me_data_xlsx, name="data_xlsx"),
    path("visitors/new/", views_visitors.my_visitor_new, name="visitor_new"),
    path("visitors/link/", views_visitors.my_visitor_link_rotate, name="visitor_link_rotate"),
]

urlpatterns = [
    path("me/", include((me_patterns, "me"))),
    path("visit/<str:token>/", views_visitors.visit, name="visit"),
    path("visit/<str:token>/done/", views_visitors.visit_done, name="visit_done"),
]
