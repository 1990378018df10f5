"""Writes about accounts that carry a rule: roles, the real-name verified flag, sign-up
and a password reset (the text message codes themselves: ``accounts.sms_codes``)."""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from core.scoping import clear_scope_cache

from .models import RoleAssignment, User
from .roles import ROLE_PERMISSIONS, ROLE_PLACES, STAFF_ROLES


def _perm(codename, place):
    return f"{place._meta.app_label}.{codename}"


def role_grant_check(*, role, place) -> None:
    """Raise ValidationError unless ``role`` may be granted on ``place`` (forms call it too)."""
    if role not in ROLE_PERMISSIONS:
        raise ValidationError(_("Unknown role."), code="unknown_role")
    if place._meta.model_name not in ROLE_PLACES[role]:
        raise ValidationError(
            _("This role cannot be granted on a %(place)s.") % {"place": place._meta.verbose_name},
            code="wrong_place",
        )


@transaction.atomic
def role_grant(*, user, role, place, granted_by=None) -> RoleAssignment:
    """Give ``user`` a role on ``place``: a RoleAssignment row plus guardian perms."""
    role_grant_check(role=role, place=place)
    ct = ContentType.objects.get_for_model(place)
    assignment, _created = RoleAssignment.objects.get_or_create(
        user=user,
        role=role,
        place_type=ct,
        place_id=place.pk,
        defaults={"granted_by": granted_by},
    )
    for codename in ROLE_PERMISSIONS[role]:
        assign_perm(_perm(codename, place), user, place)
    if role in STAFF_ROLES and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    clear_scope_cache(user)
    return assignment


@transaction.atomic
def role_revoke(*, assignment: RoleAssignment) -> None:
    """Remove a role; permissions another role on the same place still needs stay."""
    user, place = assignment.user, assignment.place
    assignment.delete()
    still_needed = set()
    for other in RoleAssignment.objects.filter(
        user=user, place_type=assignment.place_type, place_id=assignment.place_id
    ):
        still_needed.update(ROLE_PERMISSIONS[other.role])
    if place is not None:
        for codename in set(ROLE_PERMISSIONS[assignment.role]) - still_needed:
            remove_perm(_perm(codename, place), user, place)
    clear_scope_cache(user)


def user_set_verified(*, user_id: int, verified: bool, user=None) -> None:
    """The one place that sets ``User.verified`` (the registry's verification and
    anonymisation call it). ``user``, when given, is the caller's instance of the
    same account and is kept in step."""
    User.objects.filter(pk=user_id).update(verified=verified)
    if user is not None and user.pk == user_id:
        user.verified = verified


def user_sign_up(*, phone: str, name: str, password: str, language: str = "") -> User:
    """Create a resident's account after the number was proven by a text message code.

    Raises ValidationError when the number already has an account (a race between two
    sign-ups, or an account made meanwhile by the committee)."""
    with transaction.atomic():
        if User.objects.filter(phone=phone).exists():
            raise ValidationError(
                _("An account with this mobile number already exists."), code="phone_taken"
            )
        extra = {"language": language} if language in User.Language.values else {}
        try:
            with transaction.atomic():
                return User.objects.create_user(phone, password, name=name, **extra)
        except IntegrityError as exc:
            raise ValidationError(
                _("An account with this mobile number already exists."), code="phone_taken"
            ) from exc


def user_password_set(*, user: User, password: str) -> None:
    """A new password for ``user`` (reset by a text message code). Other sessions of the
    account end, because their session hash no longer matches."""
    user.set_password(password)
    user.save(update_fields=["password"])
