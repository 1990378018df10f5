from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The API-key scopes of the report endpoints and of Open311 (issues/api, issues/open311).
ISSUES_READ = "issues:read"
ISSUES_WRITE = "issues:write"


class IssuesConfig(AppConfig):
    name = "issues"
    verbose_name = _("Issues")

    def ready(self):
        from buildings.placebound import register_place_bound
        from core.api.scopes import register_api_scope
        from core.pages import register_staff_link

        from . import notices
        from .models import Issue

        # a report's place ids follow its estate or building when they move
        register_place_bound(Issue)

        register_api_scope(ISSUES_READ, _("read reports"))
        register_api_scope(ISSUES_WRITE, _("create and move reports"))

        # the handlers' pages in the site navigation, shown to whoever their page admits
        register_staff_link("issues:inbox", _("Reports to handle"))
        register_staff_link("issues:board", _("Responsiveness board"))
        register_staff_link("issues:import", _("Import 12345 orders"))

        # notification kinds, webhook events, periodic jobs (issues/notices.py)
        notices.register()
