"""Excel import and export pages, included under /registry/ in the "registry" namespace."""

from django.urls import path

from . import views_imports as views

urlpatterns = [
    path("import/", views.import_start, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/done/", views.import_done, name="import_done"),
    path("import/<str:token>/", views.import_preview, name="import_preview"),
    path("import/<str:token>/errors.xlsx", views.import_errors, name="import_errors"),
    path("import/<str:token>/confirm/", views.import_confirm, name="import_confirm"),
    path("import/<str:token>/cancel/", views.import_cancel, name="import_cancel"),
    path("export/", views.export_page, name="export"),
    path("export/residents.xlsx", views.export_download, name="export_download"),
]
