"""Where a POSTed Open311 report lies, inside the API key's jurisdiction.

In order, the first location given decides:

* ``address_id``: a building id inside the jurisdiction (else an error);
* ``lat`` / ``long``: the nearest estate with coordinates inside the jurisdiction within
  ``LINLI_OPEN311_MATCH_METRES`` (default 500 m); else the key's own place;
* ``address_string``: an estate of the jurisdiction whose name or address occurs in the
  string (the longest match); else the key's own place.

"The key's own place" is usable when the key is bound to a neighbourhood, an estate or
a building; a key bound to a subdistrict or district needs an estate match or a building.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F, Value
from django.db.models.functions import Length, StrIndex
from django.utils.translation import gettext

from buildings.models import Building, Estate, Neighbourhood

DEFAULT_MATCH_METRES = 500
EARTH_METRES = 6_371_000
METRES_PER_DEGREE = 111_320


@dataclass(frozen=True)
class Placement:
    neighbourhood: Neighbourhood
    estate: Estate | None = None
    building: Building | None = None


def _outside() -> ValidationError:
    return ValidationError(
        gettext("Cannot place this address in your jurisdiction."), code="outside"
    )


def parse_coordinates(lat: str, long: str) -> tuple[Decimal, Decimal] | None:
    """(latitude, longitude) rounded to the model's six places; None when neither is given."""
    lat, long = (lat or "").strip(), (long or "").strip()
    if not lat and not long:
        return None
    try:
        latitude, longitude = Decimal(lat), Decimal(long)
    except InvalidOperation:
        raise ValidationError(
            gettext("lat and long must both be decimal degrees."), code="coordinates"
        ) from None
    if not (latitude.is_finite() and longitude.is_finite()) or not (
        -90 <= latitude <= 90 and -180 <= longitude <= 180
    ):
        raise ValidationError(
            gettext("lat and long must both be decimal degrees."), code="coordinates"
        )
    six = Decimal("0.000001")
    return latitude.quantize(six), longitude.quantize(six)


def distance_metres(lat1, long1, lat2, long2) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp = p2 - p1
    dl = math.radians(float(long2) - float(long1))
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_METRES * math.asin(math.sqrt(h))


def _estates(scope):
    return scope.filter(Estate.objects.select_related("neighbourhood"))


def nearest_estate(scope, latitude, longitude, *, metres: float | None = None) -> Estate | None:
    """The nearest estate of the scope with coordinates within ``metres``: a bounding box
    in SQL, the exact distance in Python."""
    if metres is None:
        metres = getattr(settings, "LINLI_OPEN311_MATCH_METRES", DEFAULT_MATCH_METRES)
    d_lat = Decimal(metres / METRES_PER_DEGREE)
    cos = max(math.cos(math.radians(float(latitude))), 0.01)
    d_long = Decimal(metres / (METRES_PER_DEGREE * cos))
    candidates = _estates(scope).filter(
        latitude__isnull=False,
        longitude__isnull=False,
        latitude__range=(latitude - d_lat, latitude + d_lat),
        longitude__range=(longitude - d_long, longitude + d_long),
    )
    best, best_distance = None, None
    for estate in candidates:
        distance = distance_metres(latitude, longitude, estate.latitude, estate.longitude)
        if distance <= metres and (best_distance is None or distance < best_distance):
            best, best_distance = estate, distance
    return best


def estate_in_text(scope, text: str) -> Estate | None:
    """The estate of the scope whose name (or address) occurs in ``text``, the longest."""
    text = (text or "").strip()
    if not text:
        return None
    by_name = (
        _estates(scope)
        .annotate(at=StrIndex(Value(text), F("name")), size=Length("name"))
        .filter(at__gt=0)
        .order_by("-size", "id")
        .first()
    )
    if by_name is not None:
        return by_name
    return (
        _estates(scope)
        .exclude(address="")
        .annotate(at=StrIndex(Value(text), F("address")), size=Length("address"))
        .filter(at__gt=0)
        .order_by("-size", "id")
        .first()
    )


def key_place(api_key) -> Placement | None:
    """The key's own place when it is a neighbourhood, an estate or a building."""
    place = api_key.place
    if isinstance(place, Neighbourhood):
        return Placement(neighbourhood=place)
    if isinstance(place, Estate):
        return Placement(neighbourhood=place.neighbourhood, estate=place)
    if isinstance(place, Building):
        return Placement(
            neighbourhood=place.estate.neighbourhood, estate=place.estate, building=place
        )
    return None


def _of_estate(estate: Estate) -> Placement:
    return Placement(neighbourhood=estate.neighbourhood, estate=estate)


def locate(
    *, api_key, scope, address_id: str = "", coordinates=None, address_string: str = ""
) -> Placement:
    """Where the report lies (see the module docstring); ValidationError when nowhere."""
    address_id = (address_id or "").strip()
    if address_id:
        if not address_id.isdigit():
            raise ValidationError(gettext("address_id is not a building here."), code="address_id")
        building = (
            scope.filter(Building.objects.select_related("estate__neighbourhood"))
            .filter(pk=int(address_id))
            .first()
        )
        if building is None:
            raise ValidationError(gettext("address_id is not a building here."), code="address_id")
        return Placement(
            neighbourhood=building.estate.neighbourhood, estate=building.estate, building=building
        )
    if coordinates is None and not (address_string or "").strip():
        raise ValidationError(
            gettext("Give a location: lat and long, address_string or address_id."),
            code="location",
        )
    if coordinates is not None:
        estate = nearest_estate(scope, *coordinates)
        if estate is not None:
            return _of_estate(estate)
    if (address_string or "").strip():
        estate = estate_in_text(scope, address_string)
        if estate is not None:
            return _of_estate(estate)
    own = key_place(api_key)
    if own is None:
        raise _outside()
    return own
