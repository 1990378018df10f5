"""Read endpoints of the place tree under /api/v1/.

Every viewset derives from ``ScopedReadOnlyViewSet``: the rows are those of the
places the caller holds any role on (``ANY_PLACE_ROLE``), or the API key's
jurisdiction; anything else is a 404. API keys need the ``places:read`` scope.
"""

from drf_spectacular.utils import extend_schema

from buildings.apps import PLACES_READ
from buildings.models import (
    Area,
    Building,
    District,
    Dwelling,
    Elevator,
    ElevatorInspection,
    Estate,
    Neighbourhood,
    PropertyCompany,
    Subdistrict,
)
from buildings.permissions import ANY_PLACE_ROLE
from core.api.lists import related_count
from core.api.views import ScopedReadOnlyViewSet

from . import filters, serializers


class PlaceViewSet(ScopedReadOnlyViewSet):
    scope_permission = ANY_PLACE_ROLE
    read_scope = PLACES_READ


@extend_schema(tags=["places"])
class DistrictViewSet(PlaceViewSet):
    """Districts (区) that contain a place the caller may see."""

    serializer_class = serializers.DistrictSerializer
    filterset_class = filters.DistrictFilter

    def safely_get_queryset(self):
        return District.objects.all()


@extend_schema(tags=["places"])
class SubdistrictViewSet(PlaceViewSet):
    """Subdistricts and towns (街道/镇) that contain a place the caller may see."""

    serializer_class = serializers.SubdistrictSerializer
    filterset_class = filters.SubdistrictFilter

    def safely_get_queryset(self):
        return Subdistrict.objects.select_related("district")


@extend_schema(tags=["places"])
class AreaViewSet(PlaceViewSet):
    """Areas (片区), optional clusters of neighbourhoods inside a subdistrict."""

    serializer_class = serializers.AreaSerializer
    filterset_class = filters.AreaFilter

    def safely_get_queryset(self):
        return Area.objects.select_related("subdistrict")


@extend_schema(tags=["places"])
class NeighbourhoodViewSet(PlaceViewSet):
    """Neighbourhoods (居民区/村): one residents' committee's jurisdiction each."""

    serializer_class = serializers.NeighbourhoodSerializer
    filterset_class = filters.NeighbourhoodFilter

    def safely_get_queryset(self):
        return Neighbourhood.objects.select_related("subdistrict", "area")


@extend_schema(tags=["places"])
class PropertyCompanyViewSet(PlaceViewSet):
    """Property-management companies (物业) serving an estate the caller may see."""

    serializer_class = serializers.PropertyCompanySerializer
    filterset_class = filters.PropertyCompanyFilter

    def safely_get_queryset(self):
        return PropertyCompany.objects.all()


@extend_schema(tags=["places"])
class EstateViewSet(PlaceViewSet):
    """Residential estates (小区)."""

    serializer_class = serializers.EstateSerializer
    filterset_class = filters.EstateFilter

    def safely_get_queryset(self):
        return Estate.objects.select_related("neighbourhood", "property_company")


@extend_schema(tags=["places"])
class BuildingViewSet(PlaceViewSet):
    """Buildings (楼/号楼) of the estates."""

    serializer_class = serializers.BuildingSerializer
    filterset_class = filters.BuildingFilter

    def safely_get_queryset(self):
        return Building.objects.select_related("estate", "neighbourhood")


@extend_schema(tags=["places"])
class DwellingViewSet(PlaceViewSet):
    """Dwellings (房屋) with their floor area (m², a decimal string) and number of owners."""

    serializer_class = serializers.DwellingSerializer
    filterset_class = filters.DwellingFilter

    def safely_get_queryset(self):
        # the owners are counted for the page's rows only (a correlated subquery)
        return Dwelling.objects.select_related("building", "estate", "neighbourhood").annotate(
            owner_count=related_count(Dwelling, "owners")
        )


@extend_schema(tags=["places"])
class ElevatorViewSet(PlaceViewSet):
    """Elevators (电梯), original or retrofitted (加装), with their annual inspection dates."""

    serializer_class = serializers.ElevatorSerializer
    filterset_class = filters.ElevatorFilter

    def safely_get_queryset(self):
        return Elevator.objects.select_related("building", "estate", "neighbourhood")


@extend_schema(tags=["places"])
class ElevatorInspectionViewSet(PlaceViewSet):
    """Annual elevator inspections (电梯年检) on record."""

    serializer_class = serializers.ElevatorInspectionSerializer
    filterset_class = filters.ElevatorInspectionFilter

    def safely_get_queryset(self):
        return ElevatorInspection.objects.select_related("elevator")


ROUTES = [
    ("districts", DistrictViewSet, "district"),
    ("subdistricts", SubdistrictViewSet, "subdistrict"),
    ("areas", AreaViewSet, "area"),
    ("neighbourhoods", NeighbourhoodViewSet, "neighbourhood"),
    ("property-companies", PropertyCompanyViewSet, "property-company"),
    ("estates", EstateViewSet, "estate"),
    ("buildings", BuildingViewSet, "building"),
    ("dwellings", DwellingViewSet, "dwelling"),
    ("elevators", ElevatorViewSet, "elevator"),
    ("elevator-inspections", ElevatorInspectionViewSet, "elevator-inspection"),
]


def register(router):
    """Add the place endpoints to the /api/v1/ router."""
    for prefix, viewset, basename in ROUTES:
        router.register(prefix, viewset, basename=basename)
