"""The jurisdiction tree: District → Subdistrict → Area → Neighbourhood →
Estate → Building → Dwelling, with property companies and elevators.

Every row below the estate inherits ``buildings.placebound.PlaceBound``: it
carries ``neighbourhood_id`` (and its estate and building ids where it has those
levels), denormalised and indexed, so that scoping is a single indexed filter.
``save()`` copies the ids from the parent when a row is created or saved; moving
an estate or a building is ``buildings.services.estate_move`` / ``building_move``.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel

from .placebound import BUILDING, PlaceBound, regroup_neighbourhood, regroup_subdistrict

# Permissions granted on places with django-guardian. The same codenames exist
# on every level of the tree: a grant on a Subdistrict covers its neighbourhoods.
PLACE_PERMISSIONS = [
    ("manage_neighbourhood", _("Manage the neighbourhood (cadre)")),
    ("handle_issues", _("Handle residents' issues")),
    ("view_roster", _("View the residents' roster")),
]


def add_years(day: datetime.date, years: int = 1) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class District(TimeStampedModel):
    name = models.CharField(_("name"), max_length=50, unique=True)
    code = models.CharField(_("administrative code"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["name"]
        default_permissions = ("add", "change", "delete", "view")
        permissions = PLACE_PERMISSIONS

    def __str__(self):
        return self.name

    @classmethod
    def scope_q(cls, scope):
        return models.Q(pk__in=_visible_neighbourhoods(scope).values("subdistrict__district_id"))


class Subdistrict(TimeStampedModel):
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="subdistricts", verbose_name=_("district")
    )
    name = models.CharField(_("name"), max_length=50)
    code = models.CharField(_("administrative code"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("subdistrict")
        verbose_name_plural = _("subdistricts")
        ordering = ["name"]
        permissions = PLACE_PERMISSIONS
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="subdistrict_unique_name")
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        """A subdistrict given to another district takes its rows along (their
        denormalised ``district_id``, ``buildings.placebound``)."""
        with transaction.atomic():
            before = _stored(Subdistrict, self.pk, "district_id")
            super().save(*args, **kwargs)
            if before is not None and before != self.district_id:
                regroup_subdistrict(self.pk, self.district_id)

    @classmethod
    def scope_q(cls, scope):
        return models.Q(pk__in=_visible_neighbourhoods(scope).values("subdistrict_id"))


def _stored(model, pk, field):
    """A field's value as stored (None for a new row)."""
    if pk is None:
        return None
    return model._base_manager.filter(pk=pk).values_list(field, flat=True).first()


def _visible_neighbourhoods(scope):
    return Neighbourhood.objects.filter(Neighbourhood.scope_q(scope))


class Area(TimeStampedModel):
    """片区: an optional cluster of neighbourhoods inside a subdistrict."""

    subdistrict = models.ForeignKey(
        Subdistrict, on_delete=models.PROTECT, related_name="areas", verbose_name=_("subdistrict")
    )
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["name"]
        permissions = PLACE_PERMISSIONS
        constraints = [
            models.UniqueConstraint(fields=["subdistrict", "name"], name="area_unique_name")
        ]

    def __str__(self):
        return self.name

    @classmethod
    def scope_q(cls, scope):
        return models.Q(pk__in=_visible_neighbourhoods(scope).values("area_id"))


class Neighbourhood(TimeStampedModel):
    """居民区: one residents' committee's jurisdiction."""

    subdistrict = models.ForeignKey(
        Subdistrict,
        on_delete=models.PROTECT,
        related_name="neighbourhoods",
        verbose_name=_("subdistrict"),
    )
    area = models.ForeignKey(
        Area,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="neighbourhoods",
        verbose_name=_("area"),
    )
    name = models.CharField(_("name"), max_length=50)
    code = models.CharField(_("code"), max_length=20, blank=True)
    address = models.CharField(_("committee address"), max_length=200, blank=True)
    phone = models.CharField(_("committee phone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("neighbourhood")
        verbose_name_plural = _("neighbourhoods")
        ordering = ["name"]
        permissions = PLACE_PERMISSIONS
        constraints = [
            models.UniqueConstraint(
                fields=["subdistrict", "name"], name="neighbourhood_unique_name"
            )
        ]

    def __str__(self):
        return self.name

    @property
    def neighbourhood_id(self):
        return self.pk

    def save(self, *args, **kwargs):
        """A neighbourhood given to another subdistrict takes its rows along (their
        denormalised ``subdistrict_id`` and ``district_id``, ``buildings.placebound``)."""
        with transaction.atomic():
            before = _stored(Neighbourhood, self.pk, "subdistrict_id")
            super().save(*args, **kwargs)
            if before is not None and before != self.subdistrict_id:
                regroup_neighbourhood(self.pk)

    @classmethod
    def scope_q(cls, scope):
        return scope.q(
            neighbourhood="id", subdistrict="subdistrict_id", district="subdistrict__district_id"
        )


class PropertyCompany(TimeStampedModel):
    """物业公司: serves one or more estates, possibly across neighbourhoods."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("property company")
        verbose_name_plural = _("property companies")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @classmethod
    def scope_q(cls, scope):
        # A company is visible where it serves an estate the principal may see.
        return models.Q(
            pk__in=Estate.objects.filter(Estate.scope_q(scope)).values("property_company_id")
        )


class Estate(TimeStampedModel):
    """小区: a residential estate inside one neighbourhood."""

    neighbourhood = models.ForeignKey(
        Neighbourhood,
        on_delete=models.PROTECT,
        related_name="estates",
        verbose_name=_("neighbourhood"),
    )
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    property_company = models.ForeignKey(
        PropertyCompany,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="estates",
        verbose_name=_("property company"),
    )
    built_year = models.PositiveSmallIntegerField(_("year built"), null=True, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )

    class Meta:
        verbose_name = _("estate")
        verbose_name_plural = _("estates")
        ordering = ["name"]
        permissions = PLACE_PERMISSIONS
        constraints = [
            models.UniqueConstraint(fields=["neighbourhood", "name"], name="estate_unique_name")
        ]

    def __str__(self):
        return self.name

    @property
    def estate_id(self):
        return self.pk

    @classmethod
    def scope_q(cls, scope):
        return scope.q(
            neighbourhood="neighbourhood_id",
            estate="id",
            subdistrict="neighbourhood__subdistrict_id",
            district="neighbourhood__subdistrict__district_id",
        )


class Building(PlaceBound, TimeStampedModel):
    """楼 / 号楼: one building (or stairwell unit) of an estate; its residents form a 楼组."""

    # The estate is the building's parent (a choice on the form), not a copied id.
    estate = models.ForeignKey(
        Estate, on_delete=models.PROTECT, related_name="buildings", verbose_name=_("estate")
    )
    building = None  # a building is itself the building level
    place_self = BUILDING
    place_parents = ("estate",)
    number = models.CharField(
        _("building number"), max_length=20, help_text=_("e.g. 12号楼 or 12号楼2单元")
    )
    floors = models.PositiveSmallIntegerField(
        _("floors"), default=6, validators=[MinValueValidator(1)]
    )
    built_year = models.PositiveSmallIntegerField(_("year built"), null=True, blank=True)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["estate_id", "number"]
        permissions = PLACE_PERMISSIONS
        constraints = [
            models.UniqueConstraint(fields=["estate", "number"], name="building_unique_number")
        ]

    def __str__(self):
        return f"{self.estate.name} {self.number}" if self.estate_id else self.number

    @property
    def building_id(self):
        return self.pk


room_validator = RegexValidator(r"^[0-9A-Za-z\-]{1,10}$", _("Use digits and letters, e.g. 1203."))


class Dwelling(PlaceBound, TimeStampedModel):
    """房屋: one flat; 专有部分面积 (floor area) weighs owners' votes."""

    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="dwellings", verbose_name=_("building")
    )
    place_parents = ("building",)
    room = models.CharField(_("room"), max_length=10, validators=[room_validator])
    floor = models.SmallIntegerField(_("floor"), null=True, blank=True)
    floor_area = models.DecimalField(
        _("floor area (m²)"),
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="owned_dwellings",
        verbose_name=_("owners"),
    )

    class Meta:
        verbose_name = _("dwelling")
        verbose_name_plural = _("dwellings")
        ordering = ["building_id", "room"]
        constraints = [
            models.UniqueConstraint(fields=["building", "room"], name="dwelling_unique_room"),
            models.CheckConstraint(
                condition=models.Q(floor_area__gt=0), name="dwelling_floor_area_positive"
            ),
        ]

    def __str__(self):
        return f"{self.building} {self.room}" if self.building_id else self.room


class Elevator(PlaceBound, TimeStampedModel):
    """电梯: an elevator of a building, original or retrofitted (加装)."""

    class Status(models.TextChoices):
        IN_SERVICE = "in_service", _("in service")
        UNDER_MAINTENANCE = "maintenance", _("under maintenance")
        OUT_OF_SERVICE = "out_of_service", _("out of service")
        UNDER_CONSTRUCTION = "construction", _("under construction")

    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="elevators", verbose_name=_("building")
    )
    place_parents = ("building",)
    device_code = models.CharField(
        _("device registration code"),
        max_length=30,
        unique=True,
        validators=[
            RegexValidator(r"^[0-9A-Za-z\-]{4,30}$", _("Use 4 to 30 letters, digits or dashes."))
        ],
    )
    retrofitted = models.BooleanField(_("retrofitted (加装)"), default=False)
    maintenance_company = models.CharField(_("maintenance company"), max_length=100, blank=True)
    maintenance_phone = models.CharField(_("maintenance phone"), max_length=30, blank=True)
    installed_on = models.DateField(_("installed on"), null=True, blank=True)
    last_inspection = models.DateField(_("last annual inspection"), null=True, blank=True)
    next_inspection_due = models.DateField(
        _("next inspection due"), null=True, blank=True, db_index=True
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.IN_SERVICE
    )

    class Meta:
        verbose_name = _("elevator")
        verbose_name_plural = _("elevators")
        ordering = ["building_id", "device_code"]
        indexes = [models.Index(fields=["neighbourhood", "next_inspection_due"])]

    def __str__(self):
        return self.device_code

    @property
    def inspection_overdue(self) -> bool:
        return bool(self.next_inspection_due and self.next_inspection_due < timezone.localdate())


class ElevatorInspection(PlaceBound, TimeStampedModel):
    """One annual inspection (年检); recording it moves the next due date a year on.

    Bound to a neighbourhood only: its estate and building are its elevator's.
    """

    class Result(models.TextChoices):
        PASSED = "passed", _("passed")
        PASSED_WITH_NOTES = "passed_with_notes", _("passed with rectifications")
        FAILED = "failed", _("failed")

    elevator = models.ForeignKey(
        Elevator,
        on_delete=models.CASCADE,
        related_name="inspections",
        verbose_name=_("elevator"),
    )
    estate = None
    building = None
    place_parents = ("elevator",)
    inspected_on = models.DateField(_("inspected on"))
    result = models.CharField(
        _("result"), max_length=20, choices=Result.choices, default=Result.PASSED
    )
    agency = models.CharField(_("inspection agency"), max_length=100, blank=True)
    certificate_number = models.CharField(_("certificate number"), max_length=50, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("elevator inspection")
        verbose_name_plural = _("elevator inspections")
        ordering = ["-inspected_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["elevator", "inspected_on"], name="inspection_unique_day"
            )
        ]

    def __str__(self):
        return f"{self.elevator_id} {self.inspected_on}"
