"""Demo logins for ``manage.py seed_demo`` (all with the password ``linli-demo``).

13800000001 superuser; 13800000002 cadre of neighbourhood 1; 13800000003 cadre
of neighbourhood 2; 13800000004 resident of neighbourhood 1 (owner of a flat
there, not staff); 13800000005 property staff of an estate in neighbourhood 1.
"Neighbourhood 1/2" are the first two demo neighbourhoods (宝林一村居民区, 盘古路居民区).

Idempotent: users are found by phone number (an existing user keeps its
password); roles are granted through ``role_grant``, which is idempotent too.
"""

from buildings.demo import demo_neighbourhoods
from buildings.models import Dwelling, Estate
from core.demo import DEMO_PASSWORD, DemoContext

from .models import Role, User
from .services import role_grant

# phone, display name
SUPERUSER = ("13800000001", "陈志强")
CADRE_1 = ("13800000002", "王建国")
CADRE_2 = ("13800000003", "李秀英")
RESIDENT_1 = ("13800000004", "张美玲")
PROPERTY_STAFF_1 = ("13800000005", "刘海波")

# the resident's flat and the property staff's estate, in neighbourhood 1
RESIDENT_FLAT = ("宝林一村", "3号楼", "302")
PROPERTY_ESTATE = "宝林一村"


def _user(phone: str, name: str, **extra) -> User:
    user = User.objects.filter(phone=phone).first()
    if user is not None:
        return user
    if extra.pop("superuser", False):
        return User.objects.create_superuser(phone, DEMO_PASSWORD, name=name, **extra)
    return User.objects.create_user(phone, DEMO_PASSWORD, name=name, **extra)


def seed(ctx: DemoContext) -> None:
    neighbourhoods = demo_neighbourhoods()
    if len(neighbourhoods) < 2:
        raise RuntimeError("The demo places are missing: buildings.demo must run first.")
    first, second = neighbourhoods[:2]

    _user(*SUPERUSER, superuser=True)
    role_grant(user=_user(*CADRE_1), role=Role.CADRE, place=first)
    role_grant(user=_user(*CADRE_2), role=Role.CADRE, place=second)

    resident = _user(*RESIDENT_1, verified=True)
    estate_name, building_number, room = RESIDENT_FLAT
    flat = Dwelling.objects.get(
        neighbourhood=first,
        building__estate__name=estate_name,
        building__number=building_number,
        room=room,
    )
    flat.owners.add(resident)

    estate = Estate.objects.get(neighbourhood=first, name=PROPERTY_ESTATE)
    role_grant(user=_user(*PROPERTY_STAFF_1), role=Role.PROPERTY_STAFF, place=estate)

    ctx.log(
        f"  logins (password {DEMO_PASSWORD}): {SUPERUSER[0]} superuser, "
        f"{CADRE_1[0]} cadre of {first}, {CADRE_2[0]} cadre of {second}, "
        f"{RESIDENT_1[0]} resident of {first}, {PROPERTY_STAFF_1[0]} property staff of {estate}"
    )
