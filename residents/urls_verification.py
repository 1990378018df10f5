"""The cadre's pages about one household or resident, included under /registry/
in the "registry" namespace: household codes and verification (实名认证), and
anonymising a resident on request (个人信息保护法)."""

from django.urls import path

from . import views_me, views_verification

urlpatterns = [
    path(
        "households/<int:pk>/code/",
        views_verification.household_code,
        name="household_code",
    ),
    path(
        "households/<int:pk>/code/revoke/",
        views_verification.household_code_revoke_view,
        name="household_code_revoke",
    ),
    path(
        "residents/<int:pk>/unverify/",
        views_verification.verification_revoke_view,
        name="verification_revoke",
    ),
    path(
        "residents/<int:pk>/anonymise/",
        views_me.resident_anonymise_view,
        name="resident_anonymise",
    ),
]
