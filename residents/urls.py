from django.urls import include, path

from . import views

# The cadre's staff pages under /registry/, all in the "registry" namespace:
# each feature has its own urls module, included here with one line.
registry_patterns = [
    path("reports/", include("residents.urls_reports")),
    path("alerts/", include("residents.urls_alerts")),
    path("visitors/", include("residents.urls_visitors")),
    path("", include("residents.urls_verification")),
    path("", include("residents.urls_imports")),  # import/ and export/
]

urlpatterns = [
    path("", views.home, name="home"),
    path("registry/", include((registry_patterns, "registry"))),
    path("", include("residents.urls_me")),
]
