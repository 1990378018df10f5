"""Open311 GeoReport v2 under /open311/v2/; the format is the extension (.json, .xml)."""

from django.urls import path, register_converter

from . import views


class FormatConverter:
    regex = "json|xml"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(FormatConverter, "open311fmt")

app_name = "open311"

urlpatterns = [
    path("discovery.<open311fmt:fmt>", views.discovery, name="discovery"),
    path("services.<open311fmt:fmt>", views.services, name="services"),
    path("services/<slug:code>.<open311fmt:fmt>", views.service_definition, name="service"),
    path("requests.<open311fmt:fmt>", views.requests_, name="requests"),
    path("requests/<slug:request_id>.<open311fmt:fmt>", views.request_detail, name="request"),
    path("tokens/<slug:token>.<open311fmt:fmt>", views.token_detail, name="token"),
    # the signed media_url of a public report's photo (serializers._media_url)
    path("photos/<str:token>/", views.photo, name="photo"),
]
