"""Audited events of the place tree: one function per event (core.AuditEvent rows)."""

from django.utils.translation import gettext_lazy as _

from core.audit import record, register_actions

ESTATE_MOVED = "estate_moved"
BUILDING_MOVED = "building_moved"

register_actions({ESTATE_MOVED: _("estate moved"), BUILDING_MOVED: _("building moved")})


def _neighbourhoods(old: dict, new: dict) -> list[int]:
    # one row in each neighbourhood concerned, so that both committees see the move
    return sorted({old["neighbourhood_id"], new["neighbourhood_id"]})


def estate_moved(*, actor, estate, old: dict, new: dict, rows: dict):
    return [
        record(
            actor=actor,
            action=ESTATE_MOVED,
            target=estate,
            neighbourhood_id=neighbourhood_id,
            from_neighbourhood=old["neighbourhood_id"],
            to_neighbourhood=new["neighbourhood_id"],
            rows=rows,
        )
        for neighbourhood_id in _neighbourhoods(old, new)
    ]


def building_moved(*, actor, building, old: dict, new: dict, rows: dict):
    return [
        record(
            actor=actor,
            action=BUILDING_MOVED,
            target=building,
            neighbourhood_id=neighbourhood_id,
            from_estate=old["estate_id"],
            to_estate=new["estate_id"],
            from_neighbourhood=old["neighbourhood_id"],
            to_neighbourhood=new["neighbourhood_id"],
            rows=rows,
        )
        for neighbourhood_id in _neighbourhoods(old, new)
    ]
