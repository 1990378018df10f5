"""factory_boy factories for the place tree and people."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import User
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

PASSWORD = "linli-test-pass"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    phone = factory.Sequence(lambda n: f"139{n:08d}")
    name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password(PASSWORD)


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"测试区{n}")


class SubdistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subdistrict

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"测试街道{n}")


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area

    subdistrict = factory.SubFactory(SubdistrictFactory)
    name = factory.Sequence(lambda n: f"第{n}片区")


class NeighbourhoodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Neighbourhood

    subdistrict = factory.SubFactory(SubdistrictFactory)
    name = factory.Sequence(lambda n: f"测试居民区{n}")


class PropertyCompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PropertyCompany

    name = factory.Sequence(lambda n: f"测试物业{n}有限公司")


class EstateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Estate

    neighbourhood = factory.SubFactory(NeighbourhoodFactory)
    name = factory.Sequence(lambda n: f"幸福{n}小区")
    property_company = factory.SubFactory(PropertyCompanyFactory)


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    estate = factory.SubFactory(EstateFactory)
    number = factory.Sequence(lambda n: f"{n + 1}号楼")
    floors = 6


class DwellingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dwelling

    building = factory.SubFactory(BuildingFactory)
    room = factory.Sequence(lambda n: f"{n // 100 % 30 + 1}{n % 100:02d}")
    floor = 1
    floor_area = Decimal("72.50")


class ElevatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Elevator

    building = factory.SubFactory(BuildingFactory)
    device_code = factory.Sequence(lambda n: f"3101{n:08d}")
    maintenance_company = "上海某电梯维保有限公司"
    last_inspection = factory.LazyFunction(
        lambda: timezone.localdate() - datetime.timedelta(days=200)
    )
    next_inspection_due = factory.LazyFunction(
        lambda: timezone.localdate() + datetime.timedelta(days=165)
    )


class ElevatorInspectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ElevatorInspection

    elevator = factory.SubFactory(ElevatorFactory)
    inspected_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=200))
    agency = "上海市特种设备监督检验技术研究院"


# --- registry (residents) ---------------------------------------------------------------


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "residents.Household"

    dwelling = factory.SubFactory(DwellingFactory)


def make_id_number(n: int, birth=None, region="310113") -> str:
    """A valid ID number; distinct for distinct ``n``."""
    from residents.idnumbers import compose_id_number

    birth = birth or datetime.date(1950, 1, 1) + datetime.timedelta(days=n % 20000)
    return compose_id_number(region, birth, n)


class ResidentFactory(factory.django.DjangoModelFactory):
    """Residents go through the service, like every real write."""

    class Meta:
        model = "residents.Resident"

    household = factory.SubFactory(HouseholdFactory)
    name = factory.Sequence(lambda n: f"居民{n}")
    id_number = factory.Sequence(lambda n: make_id_number(n))
    phone = factory.Sequence(lambda n: f"137{n:08d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from residents.services import resident_create

        return resident_create(**kwargs)
