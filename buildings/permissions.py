"""Place permissions of this app (granted with guardian on places; see models.PLACE_PERMISSIONS)."""

MANAGE = "buildings.manage_neighbourhood"
HANDLE_ISSUES = "buildings.handle_issues"
VIEW_ROSTER = "buildings.view_roster"

# Anyone holding a role on a place may read that part of the place tree.
ANY_PLACE_ROLE = (MANAGE, HANDLE_ISSUES, VIEW_ROSTER)
