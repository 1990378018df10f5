"""Output serializers of the place endpoints (read only).

Each row carries the ids of its parents and their readable names, so that a
client can show "甲花园 1号楼 101" without another request. Owners are people:
only their number is exposed, never who they are or their phone numbers.
Decimals (floor area, coordinates) are strings, exact as stored.
"""

from rest_framework import serializers

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


def _name(source: str, **kwargs):
    return serializers.CharField(source=source, read_only=True, **kwargs)


class DistrictSerializer(serializers.ModelSerializer):
    class Meta:
        model = District
        fields = ["id", "name", "code"]


class SubdistrictSerializer(serializers.ModelSerializer):
    district_name = _name("district.name")

    class Meta:
        model = Subdistrict
        fields = ["id", "name", "code", "district", "district_name"]


class AreaSerializer(serializers.ModelSerializer):
    subdistrict_name = _name("subdistrict.name")

    class Meta:
        model = Area
        fields = ["id", "name", "subdistrict", "subdistrict_name"]


class NeighbourhoodSerializer(serializers.ModelSerializer):
    district = serializers.IntegerField(source="subdistrict.district_id", read_only=True)
    subdistrict_name = _name("subdistrict.name")
    area_name = _name("area.name", allow_null=True)

    class Meta:
        model = Neighbourhood
        fields = [
            "id",
            "name",
            "code",
            "address",
            "phone",
            "district",
            "subdistrict",
            "subdistrict_name",
            "area",
            "area_name",
        ]


class PropertyCompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = PropertyCompany
        fields = ["id", "name", "credit_code", "contact_name", "phone"]


class EstateSerializer(serializers.ModelSerializer):
    neighbourhood_name = _name("neighbourhood.name")
    property_company_name = _name("property_company.name", allow_null=True)

    class Meta:
        model = Estate
        fields = [
            "id",
            "name",
            "address",
            "built_year",
            "latitude",
            "longitude",
            "neighbourhood",
            "neighbourhood_name",
            "property_company",
            "property_company_name",
        ]


class BuildingSerializer(serializers.ModelSerializer):
    estate_name = _name("estate.name")
    neighbourhood_name = _name("neighbourhood.name")

    class Meta:
        model = Building
        fields = [
            "id",
            "number",
            "floors",
            "built_year",
            "estate",
            "estate_name",
            "neighbourhood",
            "neighbourhood_name",
        ]


class DwellingSerializer(serializers.ModelSerializer):
    building_number = _name("building.number")
    estate_name = _name("estate.name")
    neighbourhood_name = _name("neighbourhood.name")
    owner_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Dwelling
        fields = [
            "id",
            "room",
            "floor",
            "floor_area",
            "owner_count",
            "building",
            "building_number",
            "estate",
            "estate_name",
            "neighbourhood",
            "neighbourhood_name",
        ]


class ElevatorSerializer(serializers.ModelSerializer):
    building_number = _name("building.number")
    estate_name = _name("estate.name")
    neighbourhood_name = _name("neighbourhood.name")
    status_display = _name("get_status_display")
    inspection_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Elevator
        fields = [
            "id",
            "device_code",
            "retrofitted",
            "status",
            "status_display",
            "maintenance_company",
            "maintenance_phone",
            "installed_on",
            "last_inspection",
            "next_inspection_due",
            "inspection_overdue",
            "building",
            "building_number",
            "estate",
            "estate_name",
            "neighbourhood",
            "neighbourhood_name",
        ]


class ElevatorInspectionSerializer(serializers.ModelSerializer):
    elevator_device_code = _name("elevator.device_code")
    building = serializers.IntegerField(source="elevator.building_id", read_only=True)
    result_display = _name("get_result_display")

    class Meta:
        model = ElevatorInspection
        fields = [
            "id",
            "elevator",
            "elevator_device_code",
            "building",
            "neighbourhood",
            "inspected_on",
            "result",
            "result_display",
            "agency",
            "certificate_number",
            "notes",
        ]
