from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The API-key scope of the place endpoints (buildings/api/views.py), registered in ready().
PLACES_READ = "places:read"


class BuildingsConfig(AppConfig):
    name = "buildings"
    verbose_name = _("Places")

    def ready(self):
        from core.scoping import (
            BUILDING,
            DISTRICT,
            ESTATE,
            NEIGHBOURHOOD,
            SUBDISTRICT,
            register_place,
        )

        from . import events  # noqa: F401 - declares the app's audit actions
        from .models import Area, Building, District, Estate, Neighbourhood, Subdistrict

        def under(field):
            def expand(ids):
                return NEIGHBOURHOOD, Neighbourhood.objects.filter(
                    **{f"{field}__in": ids}
                ).values_list("id", flat=True)

            return expand

        # a grant on a district or subdistrict is also kept whole: place-bound rows are
        # filtered on their denormalised district_id / subdistrict_id
        register_place(District, under("subdistrict__district_id"), whole=DISTRICT)
        register_place(Subdistrict, under("subdistrict_id"), whole=SUBDISTRICT)
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

        from django.db.models.signals import post_delete, post_save

        from core.scoping import places_changed

        from .signals import place_moved

        # The cached scopes (core.scoping) hold what each grant covered: a grant on a
        # District, Subdistrict or Area covers the neighbourhoods under it, so a change to
        # any of those four may change a scope. A grant on an Estate or a Building covers
        # that place alone, whatever happens around it: their saves leave scopes alone.
        for model in (District, Subdistrict, Area, Neighbourhood):
            uid = f"linli-scope-{model._meta.model_name}"
            post_save.connect(places_changed, sender=model, dispatch_uid=uid)
            post_delete.connect(places_changed, sender=model, dispatch_uid=uid)
        place_moved.connect(places_changed, dispatch_uid="linli-scope-place-moved")

        from core.api.scopes import register_api_scope

        register_api_scope(PLACES_READ, _("read places"))

        from django.db.models.signals import post_delete, post_save

        from .selectors import place_counts_changed
        from .signals import place_moved

        # the home page's cached place counts follow every place change (buildings.selectors)
        for model in (Neighbourhood, Estate, Building, Dwelling, Elevator):
            for signal in (post_save, post_delete):
                signal.connect(
                    place_counts_changed, sender=model, dispatch_uid="buildings.place_counts"
                )
        place_moved.connect(place_counts_changed, dispatch_uid="buildings.place_counts")

        from django.db.models.signals import m2m_changed

        from .home import owners_changed

        # the home page lists the homes a user owns (buildings.home)
        m2m_changed.connect(
            owners_changed, sender=Dwelling.owners.through, dispatch_uid="buildings.home.owners"
        )

        from notifications.kinds import INBOX, SMS, Kind, register_kind
        from notifications.schedule import register_daily_job

        from .reminders import DAILY_AT, JOB, send_inspection_reminders
        from .reminders import KIND as INSPECTION_DUE

        # the daily digest of elevator inspection reminders (buildings.reminders)
        register_kind(
            Kind(INSPECTION_DUE, _("Elevator inspection reminders"), default_channels=(INBOX, SMS))
        )
        register_daily_job(JOB, send_inspection_reminders, at=DAILY_AT)
