"""Which place permissions each role carries, and where it may be granted."""

from .models import Role

# role -> (permission codenames granted on the place, place models allowed)
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.DISTRICT_STAFF: ("manage_neighbourhood", "handle_issues", "view_roster"),
    Role.DEPARTMENT: ("handle_issues",),
    Role.SECRETARY: ("manage_neighbourhood", "handle_issues", "view_roster"),
    Role.CADRE: ("manage_neighbourhood", "handle_issues", "view_roster"),
    Role.GRID_WORKER: ("handle_issues", "view_roster"),
    Role.PROPERTY_STAFF: ("handle_issues",),
    Role.OWNERS_COMMITTEE: ("view_roster",),
    Role.BUILDING_LEADER: ("view_roster",),
}

ROLE_PLACES: dict[str, tuple[str, ...]] = {
    Role.DISTRICT_STAFF: ("district",),
    Role.DEPARTMENT: ("subdistrict", "district"),
    Role.SECRETARY: ("neighbourhood",),
    Role.CADRE: ("neighbourhood", "area", "subdistrict"),
    Role.GRID_WORKER: ("neighbourhood", "estate", "building"),
    Role.PROPERTY_STAFF: ("estate",),
    Role.OWNERS_COMMITTEE: ("estate",),
    Role.BUILDING_LEADER: ("building",),
}

# Roles whose holders work in the back office (Django admin).
STAFF_ROLES = {
    Role.DISTRICT_STAFF,
    Role.DEPARTMENT,
    Role.SECRETARY,
    Role.CADRE,
    Role.GRID_WORKER,
    Role.PROPERTY_STAFF,
}
