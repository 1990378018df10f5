"""Wellbeing alerts from door-access events (门禁): no sign of an elderly resident."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from buildings.models import Dwelling
from buildings.placebound import PlaceBound


class AccessEvent(PlaceBound):
    """One door-access event sent by a district system (API key ``access:write``).

    Bound to a neighbourhood; its estate and building are its dwelling's, or its
    resident's when it names no dwelling.
    """

    resident = models.ForeignKey(
        "residents.Resident",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_events",
        verbose_name=_("resident"),
    )
    dwelling = models.ForeignKey(
        Dwelling,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("dwelling"),
    )
    estate = None
    building = None
    place_parents = ("dwelling", "resident")
    occurred_at = models.DateTimeField(_("occurred at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    device = models.CharField(_("device"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("door-access event")
        verbose_name_plural = _("door-access events")
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["resident", "occurred_at"]),
            models.Index(fields=["dwelling", "occurred_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(resident__isnull=False) | models.Q(dwelling__isnull=False),
                name="access_event_has_subject",
            )
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M}"


class WellbeingAlert(PlaceBound):
    """No access event for a resident aged 80+ for 48 hours: once per gap.

    Bound to a neighbourhood; its estate and building are its resident's.
    """

    resident = models.ForeignKey(
        "residents.Resident",
        on_delete=models.CASCADE,
        related_name="wellbeing_alerts",
        verbose_name=_("resident"),
    )
    estate = None
    building = None
    place_parents = ("resident",)
    last_seen_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    raised_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("handled by"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("wellbeing alert")
        verbose_name_plural = _("wellbeing alerts")
        ordering = ["handled_at", "-raised_at"]
        constraints = [
            # one alert per gap: the gap is identified by the last event before it
            models.UniqueConstraint(
                fields=["resident", "last_seen_at"],
                name="wellbeing_alert_once_per_gap",
                nulls_distinct=False,
            ),
        ]

    def __str__(self):
        return f"{self.resident} · {self.raised_at:%Y-%m-%d}"
