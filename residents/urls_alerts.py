"""Wellbeing alert pages, included under /registry/alerts/ in the "registry" namespace."""

from django.urls import path

from . import views_alerts as views

urlpatterns = [
    path("", views.alert_list, name="alerts"),
    path("<int:pk>/", views.alert_detail, name="alert_detail"),
    path("<int:pk>/handle/", views.alert_handle, name="alert_handle"),
]
