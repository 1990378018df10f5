"""Issue reporting in the back office.

=============  =====================================================================
module         holds
=============  =====================================================================
``reports``    IssueAdmin (报事): the handlers' scoped list, the read-only report page
               with its timeline, the moves as actions that call ``issues.services``
``reference``  CategoryAdmin (with its attributes) and DepartmentAdmin: superuser-only
=============  =====================================================================

Importing this package registers the admin classes (admin.autodiscover).
"""

from .reference import CategoryAdmin, CategoryAttributeInline, DepartmentAdmin
from .reports import IssueAdmin, IssueEventInline

__all__ = [
    "CategoryAdmin",
    "CategoryAttributeInline",
    "DepartmentAdmin",
    "IssueAdmin",
    "IssueEventInline",
]
