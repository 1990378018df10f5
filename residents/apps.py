from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The API-key scopes of the registry endpoints (residents/api/views.py), registered in ready().
RESIDENTS_READ = "residents:read"
RESIDENTS_WRITE = "residents:write"
ACCESS_WRITE = "access:write"


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = _("People")

    def ready(self):
        from buildings.placebound import register_place_bound

        from . import (
            events,  # noqa: F401 - declares the app's audit actions
            models,
        )

        # the rows an estate or building move carries along (buildings.services)
        register_place_bound(
            models.Household,
            models.Resident,
            models.VisitorDeclaration,
            models.HouseholdCode,
            models.AccessEvent,
            models.WellbeingAlert,
            models.SavedReport,
        )

        from core.api.scopes import register_api_scope

        register_api_scope(RESIDENTS_READ, _("read residents"))
        register_api_scope(RESIDENTS_WRITE, _("write residents"))
        register_api_scope(ACCESS_WRITE, _("send door-access events"))

        from core.pages import register_staff_link

        # the staff pages in the site navigation, shown to whoever their staff_page admits
        register_staff_link("registry:reports", _("Smart reports"))
        register_staff_link("registry:alerts", _("Wellbeing alerts"))
        register_staff_link("registry:visitors", _("Visitors"))
        register_staff_link("registry:import", _("Import residents"))
        register_staff_link("registry:export", _("Export residents"))

        from notifications.kinds import INBOX, SMS, Kind, register_kind

        from .services.wellbeing import WELLBEING_ALERT_KIND

        # a new wellbeing alert, to the neighbourhood's cadres (residents.services.wellbeing)
        register_kind(
            Kind(WELLBEING_ALERT_KIND, _("Wellbeing alerts"), default_channels=(INBOX, SMS))
        )
