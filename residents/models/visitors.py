"""外来人员信息申报: non-residents staying in a household."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from buildings.models import Dwelling
from buildings.placebound import PlaceBound
from core.models import TimeStampedModel

from .registry import IdType


class VisitorDeclaration(PlaceBound, TimeStampedModel):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("submitted")
        CONFIRMED = "confirmed", _("confirmed")
        REJECTED = "rejected", _("rejected")

    household = models.ForeignKey(
        "residents.Household",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visitors",
        verbose_name=_("household"),
    )
    dwelling = models.ForeignKey(
        Dwelling, on_delete=models.PROTECT, related_name="+", verbose_name=_("dwelling")
    )
    place_parents = ("dwelling",)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    id_type = models.CharField(
        _("identity document"), max_length=20, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    id_encrypted = models.TextField(editable=False, blank=True)
    id_last4 = models.CharField(max_length=4, editable=False, blank=True)
    phone_encrypted = models.TextField(editable=False, blank=True)
    phone_last4 = models.CharField(max_length=4, editable=False, blank=True)
    arrives_on = models.DateField(_("from"))
    leaves_on = models.DateField(_("to"), db_index=True)
    reason = models.CharField(_("reason for the stay"), max_length=200)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED, db_index=True
    )
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("declared by"),
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    purged_at = models.DateTimeField(_("personal data purged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("visitor declaration")
        verbose_name_plural = _("visitor declarations")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(leaves_on__gte=models.F("arrives_on")),
                name="visitor_dates_in_order",
            ),
        ]

    def __str__(self):
        return f"{self.name} · {self.dwelling}"
