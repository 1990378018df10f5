from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The API-key scope of the place endpoints (buildings/api/views.py), registered in ready().
PLACES_READ = "places:read"


class BuildingsConfig(AppConfig):
    name = "buildings"
    verbose_name = _("Places")

    def ready(self):
        from core.scoping import BUILDING, ESTATE, NEIGHBOURHOOD, register_place

        from . import events  # noqa: F401 - declares the app's audit actions
        from .models import Area, Building, District, Estate, Neighbourhood, Subdistrict

        def under(field):
            def expand(ids):
                return NEIGHBOURHOOD, Neighbourhood.objects.filter(
                    **{f"{field}__in": ids}
                ).values_list("id", flat=True)

            return expand

        register_place(District, under("subdistrict__district_id"))
        register_place(Subdistrict, under("subdistrict_id"))
        register_place(Area, under("area_id"))
        register_place(Neighbourhood, lambda ids: (NEIGHBOURHOOD, ids), is_kind=NEIGHBOURHOOD)
        register_place(Estate, lambda ids: (ESTATE, ids), is_kind=ESTATE)
        register_place(
            Building, lambda ids: (BUILDING, ids), name_needs=("estate",), is_kind=BUILDING
        )

        from .models import Dwelling, Elevator, ElevatorInspection
        from .placebound import register_place_bound

        # the rows an estate or building move carries along (buildings.services)
        register_place_bound(Building, Dwelling, Elevator, ElevatorInspection)

        from core.api.scopes import register_api_scope

        register_api_scope(PLACES_READ, _("read places"))
