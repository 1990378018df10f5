"""The /api/ tree: one versioned router for every app, the schema and its docs.

Any other path under /api/ answers a JSON 404 in the API's error shape.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from buildings.api.views import register as register_buildings
from core.api.errors import not_found
from core.api.views import ApiDocsView
from issues.api.views import register as register_issues
from residents.api.views import register as register_residents
from webhooks.api.views import register as register_webhooks

router = DefaultRouter()
router.include_root_view = False
register_buildings(router)
register_residents(router)
register_webhooks(router)
register_issues(router)

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="schema"), name="swagger-ui"),
    re_path(r"^", not_found, name="api-not-found"),
]
