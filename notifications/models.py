"""Notifications: the inbox row, the per-channel delivery record (the exactly-once key),
preferences, the outbox drained by the dispatcher, and the record of job runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .kinds import CHANNELS


class Notification(models.Model):
    """One notice in a user's inbox. Scoped by its recipient alone (never a place)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=64)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notif_recipient_recent"),
            models.Index(
                fields=["recipient"], condition=Q(read_at__isnull=True), name="notif_unread"
            ),
        ]

    def __str__(self):
        return self.subject

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Delivery(models.Model):
    """One message on one channel to one recipient, recorded before it is sent.

    The unique key (kind, object, key, recipient, channel) is what makes a notice
    exactly-once: a re-run, a retried task or a second beat process finds the row.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        HELD = "held", _("held (quiet hours)")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")

    kind = models.CharField(_("kind"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    key = models.CharField(_("key"), max_length=200, blank=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_deliveries",
        verbose_name=_("recipient"),
    )
    channel = models.CharField(_("channel"), max_length=20, choices=[(c, c) for c in CHANNELS])
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"), blank=True)
    notification = models.ForeignKey(
        Notification,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("notification"),
    )
    # a bare id, as core's audit rows keep it: notifications sit below buildings
    neighbourhood_id = models.BigIntegerField(
        _("neighbourhood id"), null=True, blank=True, db_index=True
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    send_after = models.DateTimeField(_("send after"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # which notify() call inserted the row (a racing call's rows are not its own)
    claim = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_type", "object_id", "key", "recipient", "channel"],
                name="notif_delivery_once",
            )
        ]
        indexes = [
            models.Index(
                fields=["send_after"],
                condition=Q(status__in=["pending", "held"]),
                name="notif_delivery_due",
            ),
            models.Index(fields=["claim"], name="notif_delivery_claim"),
        ]

    def __str__(self):
        return f"{self.kind} → {self.recipient_id} ({self.channel}, {self.status})"

    @staticmethod
    def scope_q(scope) -> Q:
        return scope.q(neighbourhood="neighbourhood_id")


class Preference(models.Model):
    """A user's choice for one kind and channel; absent means the kind's default.

    ``kind="*"``, ``channel="email_digest"``: the daily e-mail digest of every kind.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=64)
    channel = models.CharField(_("channel"), max_length=20)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="notif_pref_once")
        ]

    def __str__(self):
        return f"{self.user_id} {self.kind} {self.channel} {self.enabled}"


class OutboxEntry(models.Model):
    """Work to hand to Celery once the transaction that wrote it has committed."""

    task = models.CharField(_("task"), max_length=100)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox entry")
        verbose_name_plural = _("outbox entries")
        indexes = [
            models.Index(
                fields=["id"], condition=Q(dispatched_at__isnull=True), name="notif_outbox_todo"
            )
        ]

    def __str__(self):
        return f"{self.task} {self.payload}"


class JobRun(models.Model):
    """One run of a scheduled job: start, end, counts and errors (superusers' list)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        OK = "ok", _("finished")
        FAILED = "failed", _("failed")

    name = models.CharField(_("job"), max_length=100, db_index=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    errors = models.TextField(_("errors"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M}"

    # --- counting, used inside notifications.jobs.job_run -------------------------------

    def count(self, name: str, n: int = 1, *, neighbourhood=None) -> None:
        """Add ``n`` to a count of the run (and of one neighbourhood's share of it)."""
        self.counts[name] = self.counts.get(name, 0) + n
        if neighbourhood is not None:
            place_id = getattr(neighbourhood, "pk", neighbourhood)
            places = self.__dict__.setdefault("_place_counts", {})
            share = places.setdefault(place_id, {})
            share[name] = share.get(name, 0) + n

    def error(self, message: str) -> None:
        """Record an error that did not stop the run."""
        self.errors = f"{self.errors}\n{message}" if self.errors else message


class JobRunPlace(models.Model):
    """A job run's counts for one neighbourhood: what a cadre sees of the run."""

    job_run = models.ForeignKey(
        JobRun, on_delete=models.CASCADE, related_name="places", verbose_name=_("job run")
    )
    neighbourhood_id = models.BigIntegerField(_("neighbourhood id"), db_index=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)

    class Meta:
        verbose_name = _("job run in a neighbourhood")
        verbose_name_plural = _("job runs in neighbourhoods")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job_run", "neighbourhood_id"], name="notif_jobplace_once"
            )
        ]

    def __str__(self):
        return f"{self.job_run} · {self.neighbourhood_id}"

    @staticmethod
    def scope_q(scope) -> Q:
        return scope.q(neighbourhood="neighbourhood_id")
