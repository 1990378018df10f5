"""/accounts/: sign in and out, sign-up, passwords, two-factor, language and profile."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import sms_views, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("login/sms/", sms_views.login_sms, name="login_sms"),
    path("login/sms/code/", sms_views.login_sms_code, name="login_sms_code"),
    path("signup/", sms_views.signup, name="signup"),
    path("signup/code/", sms_views.signup_code, name="signup_code"),
    path("signup/details/", sms_views.signup_details, name="signup_details"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("language/", views.language, name="language"),
    path("two-factor/", views.two_factor, name="two_factor"),
    path("two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # before password/reset/<uidb64>/<token>/, which would match sms/code/ too
    path("password/reset/sms/", sms_views.password_reset_sms, name="password_reset_sms"),
    path(
        "password/reset/sms/code/",
        sms_views.password_reset_sms_code,
        name="password_reset_sms_code",
    ),
    path(
        "password/reset/sms/new/",
        sms_views.password_reset_sms_new,
        name="password_reset_sms_new",
    ),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
