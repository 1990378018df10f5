"""智慧报表: a cadre's saved query over the registry."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from buildings.placebound import PlaceBound
from core.models import TimeStampedModel


class SavedReport(PlaceBound, TimeStampedModel):
    """Conditions ticked by a cadre, saved by name. Results are always computed
    within the viewer's scope, so a report never widens what anyone may see.

    Bound to its neighbourhood only: moving an estate or a building leaves it there.
    """

    estate = None
    building = None
    name = models.CharField(_("name"), max_length=100)
    conditions = models.JSONField(_("conditions"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    last_run_at = models.DateTimeField(_("last run at"), null=True, blank=True)
    last_count = models.PositiveIntegerField(_("last count"), null=True, blank=True)

    class Meta:
        verbose_name = _("smart report")
        verbose_name_plural = _("smart reports")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["neighbourhood", "name"], name="saved_report_unique_name"
            ),
        ]

    def __str__(self):
        return self.name
