"""Naming a jurisdiction for an API key: ``<place type>:<id>``, e.g. ``neighbourhood:12``.

The place types are the models registered with ``core.scoping.register_place``
(district, subdistrict, area, neighbourhood, estate, building), named by their
model name. Used by the admin form and the ``create_api_key`` command.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.scoping import place_models


def place_types() -> dict[str, type]:
    """``{"neighbourhood": Neighbourhood, ...}`` from the top of the tree down."""
    return {model._meta.model_name: model for model in place_models()}


def place_type_choices() -> list[tuple[str, str]]:
    return [(name, model._meta.verbose_name) for name, model in place_types().items()]


def resolve_place(place_type: str, place_id):
    """The place named by type and id, or a ValidationError saying what is wrong."""
    model = place_types().get((place_type or "").strip().lower())
    if model is None:
        raise ValidationError(
            _("Unknown place type “%(type)s”; use one of: %(types)s.")
            % {"type": place_type, "types": ", ".join(place_types())},
            code="unknown_place_type",
        )
    try:
        pk = int(place_id)
    except (TypeError, ValueError):
        raise ValidationError(
            _("The place id must be a whole number."), code="invalid_place_id"
        ) from None
    place = model._default_manager.filter(pk=pk).first()
    if place is None:
        raise ValidationError(
            _("There is no %(type)s with id %(id)s.")
            % {"type": model._meta.verbose_name, "id": pk},
            code="unknown_place",
        )
    return place


def parse_place_reference(reference: str):
    """``"neighbourhood:12"`` -> the Neighbourhood with id 12 (ValidationError otherwise)."""
    place_type, sep, place_id = (reference or "").partition(":")
    if not sep:
        raise ValidationError(
            _("Name the place as TYPE:ID, e.g. neighbourhood:12."), code="invalid_place_reference"
        )
    return resolve_place(place_type, place_id)
