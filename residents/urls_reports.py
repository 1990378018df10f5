"""智慧报表 pages, included under /registry/reports/ in the "registry" namespace."""

from django.urls import path

from . import views_reports as views

urlpatterns = [
    path("", views.report_builder, name="reports"),
    path("save/", views.report_save, name="report_save"),
    path("export.xlsx", views.report_export, name="report_export"),
    path("saved/", views.saved_report_list, name="report_saved_list"),
    path("<int:pk>/", views.saved_report_detail, name="report_detail"),
    path("<int:pk>/export.xlsx", views.saved_report_export, name="report_detail_export"),
    path("<int:pk>/rename/", views.saved_report_rename_view, name="report_rename"),
    path("<int:pk>/delete/", views.saved_report_delete_view, name="report_delete"),
]
