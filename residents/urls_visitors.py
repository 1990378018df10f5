"""Visitor declarations for cadres, included under /registry/visitors/ in the
"registry" namespace. (The public form /visit/<token>/ and the resident's
/me/visitors/ pages are in urls_me.)"""

from django.urls import path

from . import views_visitors as views

urlpatterns = [
    path("", views.visitor_list, name="visitors"),
    path("<int:pk>/review/", views.visitor_review, name="visitor_review"),
]
