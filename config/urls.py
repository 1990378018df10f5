from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from buildings.views import home
from core import health
from core.views import favicon

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("favicon.ico", favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/", include("config.api")),
    path("issues/", include("issues.urls")),
    path("open311/v2/", include("issues.open311.urls")),
    path("", home, name="home"),
    path("", include("residents.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

admin.site.site_header = _("Linli 邻里 back office")
admin.site.site_title = _("Linli 邻里")
admin.site.index_title = _("Your neighbourhood")
