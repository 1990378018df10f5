from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="list"),
    path("<int:pk>/read/", views.read_one, name="read"),
    path("read-all/", views.read_all, name="read_all"),
    path("badge/", views.badge, name="badge"),
    path("settings/", views.preferences, name="settings"),
]
