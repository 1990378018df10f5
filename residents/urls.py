"""Every page of the registry, in one place.

* /registry/... in the "registry" namespace: the cadre's staff pages (smart reports,
  wellbeing alerts, visitor declarations, household codes and verification, anonymising
  a resident, Excel import and export);
* /me/... in the "me" namespace: the resident's home, verification, visitors, own data;
* /visit/<token>/ ("visit", "visit_done"): the public visitor form a household shares.
"""

from django.urls import include, path

from .views import alerts, imports, me, reports, search, verification, visitors

registry_patterns = [
    # 智慧报表 (smart reports)
    path("reports/", reports.report_builder, name="reports"),
    path("reports/save/", reports.report_save, name="report_save"),
    path("reports/export.xlsx", reports.report_export, name="report_export"),
    path("reports/saved/", reports.saved_report_list, name="report_saved_list"),
    path("reports/<int:pk>/", reports.saved_report_detail, name="report_detail"),
    path(
        "reports/<int:pk>/export.xlsx",
        reports.saved_report_export,
        name="report_detail_export",
    ),
    path("reports/<int:pk>/rename/", reports.saved_report_rename_view, name="report_rename"),
    path("reports/<int:pk>/delete/", reports.saved_report_delete_view, name="report_delete"),
    # wellbeing alerts
    path("alerts/", alerts.alert_list, name="alerts"),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/handle/", alerts.alert_handle, name="alert_handle"),
    # visitor declarations
    path("visitors/", visitors.visitor_list, name="visitors"),
    path("visitors/<int:pk>/review/", visitors.visitor_review, name="visitor_review"),
    # one household or resident: codes, verification, anonymising
    path("households/<int:pk>/code/", verification.household_code, name="household_code"),
    path(
        "households/<int:pk>/code/revoke/",
        verification.household_code_revoke_view,
        name="household_code_revoke",
    ),
    path(
        "residents/<int:pk>/unverify/",
        verification.verification_revoke_view,
        name="verification_revoke",
    ),
    path(
        "residents/<int:pk>/anonymise/",
        verification.resident_anonymise_view,
        name="resident_anonymise",
    ),
    # Excel import and export
    path("import/", imports.import_start, name="import"),
    path("import/template.xlsx", imports.import_template, name="import_template"),
    path("import/done/", imports.import_done, name="import_done"),
    path("import/jobs/<str:token>/", imports.import_job, name="import_job"),
    path("import/<str:token>/", imports.import_preview, name="import_preview"),
    path("import/<str:token>/errors.xlsx", imports.import_errors, name="import_errors"),
    path("import/<str:token>/confirm/", imports.import_confirm, name="import_confirm"),
    path("import/<str:token>/cancel/", imports.import_cancel, name="import_cancel"),
    path("export/", imports.export_page, name="export"),
    path("export/residents.xlsx", imports.export_download, name="export_download"),
    # the search boxes post here: a whole ID number never reaches a URL
    path("search/", search.search, name="search"),
]

me_patterns = [
    path("", me.me_home, name="home"),
    path("verify/", verification.verify, name="verify"),
    path("data/", me.me_data, name="data"),
    path("data/download.json", me.me_data_json, name="data_json"),
    path("data/download.xlsx", me.me_data_xlsx, name="data_xlsx"),
    path("visitors/new/", visitors.my_visitor_new, name="visitor_new"),
    path("visitors/link/", visitors.my_visitor_link_rotate, name="visitor_link_rotate"),
]

urlpatterns = [
    path("registry/", include((registry_patterns, "registry"))),
    path("me/", include((me_patterns, "me"))),
    path("visit/<str:token>/", visitors.visit, name="visit"),
    path("visit/<str:token>/done/", visitors.visit_done, name="visit_done"),
]
