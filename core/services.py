"""Writes of the core app that carry a rule: API keys."""

import logging

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.api.authentication import forget_cached_key
from core.api.scopes import clean_api_scopes
from core.models import ApiKey
from core.scoping import place_models

logger = logging.getLogger(__name__)


def _clean_scopes(scopes) -> list[str]:
    try:
        clean = clean_api_scopes(scopes)
    except ValidationError as error:
        raise ValidationError({"scopes": error.messages}, code="unknown_scope") from None
    if not clean:
        raise ValidationError({"scopes": _("Choose at least one scope.")}, code="no_scope")
    return clean  # canonical order


@transaction.atomic
def api_key_create(
    *, name: str, scopes, place, created_by=None, expires_at=None
) -> tuple[ApiKey, str]:
    """Create a key for a district system; returns ``(api_key, full_key)``.

    The full key is returned once and never stored: only its prefix and hash are.
    ``place`` (the jurisdiction) must be a saved instance of a registered place model.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the key a name.")}, code="required")
    clean_scopes = _clean_scopes(scopes)
    if type(place) not in place_models() or getattr(place, "pk", None) is None:
        raise ValidationError(
            {"place": _("The jurisdiction must be a district, subdistrict, area, …, building.")},
            code="invalid_place",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(
            {"expires_at": _("The expiry must be in the future.")}, code="expired"
        )
    while True:  # the 32-bit prefix is unique; a clash is rare, so draw again
        full_key, prefix, key_hash = ApiKey.generate()
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    api_key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        scopes=clean_scopes,
        place_type=ContentType.objects.get_for_model(place),
        place_id=place.pk,
        created_by=created_by,
        expires_at=expires_at,
    )
    logger.info(
        "API key %s (%s) created for %s:%s by %s",
        api_key.prefix,
        api_key.name,
        place._meta.model_name,
        place.pk,
        getattr(created_by, "pk", None),
    )
    return api_key, full_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key for good (idempotent: the first revocation time is kept)."""
    now = timezone.now()
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
    api_key.refresh_from_db(fields=["revoked_at"])
    forget_cached_key(api_key)  # refused from the very next request on
    logger.info("API key %s (%s) revoked", api_key.prefix, api_key.name)
    return api_key
