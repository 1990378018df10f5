"""Models every app uses and no app owns: base mixins, API keys, the audit log, table jobs."""

import hashlib
import secrets
import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


KEY_PREFIX_LEN = 8


def hash_api_key(secret: str) -> str:
    # Keys are 256-bit random tokens: a fast hash is enough and keeps lookups cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(TimeStampedModel):
    """A district system's credential: hashed, scoped, bound to one place.

    The full key is ``linli_<prefix>_<secret>``; only the prefix and the hash of
    the whole key are stored, so it is shown once, when it is created.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=KEY_PREFIX_LEN, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    place_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        verbose_name=_("jurisdiction type"),
        related_name="+",
    )
    place_id = models.PositiveBigIntegerField(_("jurisdiction id"))
    place = GenericForeignKey("place_type", "place_id")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate() -> tuple[str, str, str]:
        """A new (full key, prefix, hash)."""
        prefix = secrets.token_hex(KEY_PREFIX_LEN // 2)
        full = f"linli_{prefix}_{secrets.token_urlsafe(32)}"
        return full, prefix, hash_api_key(full)

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class AuditEvent(models.Model):
    """An append-only audit record: who did what to whom, when, from where.

    Written by each app's ``events.py``; nobody edits or deletes these rows
    through the product (the admin is read-only). ``neighbourhood_id`` scopes
    who may read it, like every place-bound row.
    """

    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who"),
    )
    actor_label = models.CharField(_("who (as recorded)"), max_length=100, blank=True)
    action = models.CharField(_("action"), max_length=50, db_index=True)
    target_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("object type"),
    )
    target_id = models.PositiveBigIntegerField(_("object id"), null=True, blank=True)
    target_label = models.CharField(_("object (as recorded)"), max_length=200, blank=True)
    neighbourhood_id = models.BigIntegerField(
        _("neighbourhood id"), null=True, blank=True, db_index=True
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    params = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    @classmethod
    def scope_q(cls, scope):
        return scope.q(neighbourhood="neighbourhood_id")


class AuditSubject(models.Model):
    """One person or object an audit event was about, when an event covers many at once
    (a full-values export lists every resident it contained). Ids only: what they were is
    the rows' own business; written with the event, in bulk (``core.audit.record_subjects``)."""

    event = models.ForeignKey(
        AuditEvent, on_delete=models.CASCADE, related_name="subjects", verbose_name=_("event")
    )
    target_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, related_name="+", verbose_name=_("object type")
    )
    target_id = models.PositiveBigIntegerField(_("object id"))

    class Meta:
        verbose_name = _("audit event subject")
        verbose_name_plural = _("audit event subjects")
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        return f"{self.event_id}: {self.target_type_id}/{self.target_id}"


class TableJob(models.Model):
    """A table import run by a Celery worker, for its progress page (``core.tables.jobs``).

    It belongs to the user who started it (anyone else's is a 404) and to the
    neighbourhood it was started in; it holds counts and a summary, never a cell of the
    file (the file stays encrypted in the pending uploads until the job is done).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=50)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("started by"),
    )
    neighbourhood_id = models.BigIntegerField(
        _("neighbourhood id"), null=True, blank=True, db_index=True
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    upload_token = models.CharField(max_length=32, blank=True, editable=False)
    filename = models.CharField(_("file"), max_length=200, blank=True)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("table job")
        verbose_name_plural = _("table jobs")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M} {self.get_status_display()}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @classmethod
    def scope_q(cls, scope):
        return scope.q(neighbourhood="neighbourhood_id")
