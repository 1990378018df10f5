"""Every page of issue reporting, in the "issues" namespace under /issues/.

* the resident's pages (issues.views.resident): the neighbourhood's reports, a report,
  reporting, "my reports", upvotes, follows, confirming and reopening;
* the handlers' pages (issues.views.handler): the inbox, a report's workflow, bulk
  acknowledgement, reporting for a caller;
* the responsiveness board (issues.views.board) and the 12345 hotline import
  (issues.views.imports).

Open311 GeoReport v2 has its own tree at /open311/v2/ (issues.open311.urls).
"""

from .views import board, handler, imports, resident

app_name = "issues"

urlpatterns = [
    *handler.urlpatterns,
    *board.urlpatterns,
    *imports.urlpatterns,
    *resident.urlpatterns,
]
