"""``issue_world``: the shared ``world`` (two neighbourhoods A and B in one subdistrict)
plus what issue reporting needs: categories, verified residents, handlers."""

from types import SimpleNamespace

import pytest

from accounts.models import Role
from accounts.services import role_grant
from issues.models import HandlerLevel
from tests.factories import UserFactory

from .factories import CategoryFactory, DepartmentFactory, verified_resident


@pytest.fixture
def issue_world(world):
    noise = CategoryFactory(
        code="noise",
        name_zh="噪音扰民",
        name_en="Noise",
        handler_kind=HandlerLevel.PROPERTY,
        department_code="chengguan",
    )
    passage = CategoryFactory(
        code="fire-passage",
        name_zh="消防通道堵塞",
        name_en="Blocked fire passage",
        handler_kind=HandlerLevel.COMMITTEE,
        department_code="chengguan",
    )
    building_work = CategoryFactory(
        code="illegal-building",
        name_zh="违法搭建",
        name_en="Illegal construction",
        handler_kind=HandlerLevel.DEPARTMENT,
        department_code="chengguan",
    )
    department = DepartmentFactory(subdistrict=world.subdistrict, code="chengguan", name="城管中队")
    department_staff = UserFactory(name="城管队员")
    role_grant(user=department_staff, role=Role.DEPARTMENT, place=world.subdistrict)
    department.staff.add(department_staff)
    for side, label in ((world.a, "甲"), (world.b, "乙")):
        side.resident = verified_resident(side.dwelling, name=f"{label}居民")
        side.neighbour = verified_resident(side.dwelling, name=f"{label}邻居")
        side.property_staff = UserFactory(name=f"{label}物业客服")
        role_grant(user=side.property_staff, role=Role.PROPERTY_STAFF, place=side.estate)
    return SimpleNamespace(
        **vars(world),
        noise=noise,
        passage=passage,
        building_work=building_work,
        department=department,
        department_staff=department_staff,
    )
