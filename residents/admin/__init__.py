"""The cadre's registry in the back office: residents, households and care tags.

Scoped like every place-bound admin (core/admin_scoping.py): a cadre sees their own
neighbourhood's households and residents, and another neighbourhood's are a 404 in
every view (change, history, delete, the identity reveal). Writes go through
``residents.services``: the forms are ``core.admin_forms.ServiceModelForm``s, which
run the service inside a rolled-back savepoint while validating, so that its rules
(GB 11643, duplicates) show as form errors, and call it for real when saving. Change
history comes from django-simple-history (core/admin_history.py). Full ID and phone
numbers never appear in a form or a list: they are shown once, on a POST to the
reveal view, which writes an audit record.

=================  ===============================================================
module             holds
=================  ===============================================================
``forms``          ResidentAdminForm, HouseholdAdminForm
``filters``        REGISTRY_PLACES, CareTagFilter, AgeBandFilter, MovedOutFilter
``residents``      ResidentAdmin (居民) and the masked columns (ResidentDisplayMixin)
``households``     HouseholdAdmin (户) and its members (MemberInline)
``care_tags``      CareTagAdmin (关爱标签)
``views``          the identity reveal and the "add care tags" bulk action's page
=================  ===============================================================

Templates: templates/admin/residents/; styles: residents/static/residents/admin/.
Importing this package registers the admin classes (admin.autodiscover).
"""

from . import care_tags, households, residents
from .care_tags import CareTagAdmin
from .households import HouseholdAdmin, MemberInline
from .residents import ResidentAdmin, ResidentDisplayMixin

__all__ = [
    "CareTagAdmin",
    "HouseholdAdmin",
    "MemberInline",
    "ResidentAdmin",
    "ResidentDisplayMixin",
    "care_tags",
    "households",
    "residents",
]
