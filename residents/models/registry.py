"""The registry a committee keeps: households (户) and residents (居民).

Identifiers (ID or passport numbers, phones) are never stored in clear: an
AES-GCM token (``core.crypto``), a keyed hash for exact lookup and the last four
characters for masked display and suffix search. Names are searchable by
characters, full pinyin and initials (``name_pinyin``, ``name_initials``); a 1- or
2-character fragment by the name's grams (``name_grams``, see ``.lookups``).
Every row inherits ``buildings.placebound.PlaceBound``: it carries
``neighbourhood_id`` (and estate/building ids) copied from its dwelling, so
scoping is one indexed filter; moving an estate or a building carries them along
(``buildings.services.estate_move`` / ``building_move``).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history import register as register_history
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from buildings.models import Dwelling
from buildings.placebound import PlaceBound, PlaceBoundQuerySet
from core.audit import actor_label
from core.crypto import cipher, keyed_hash
from core.models import TimeStampedModel
from core.text import NameSearchKeys, name_search_keys

from .lookups import NameFragment


def phone_hash(phone: str) -> str:
    """The keyed hash used to find a person by a whole phone number."""
    return keyed_hash(f"phone:{phone}")


def identifier_hash(id_type: str, number: str) -> str:
    """The keyed hash used to find and de-duplicate a person by document number."""
    return keyed_hash(f"{id_type}:{number}")


def history_user(request=None, **kwargs):
    """Who made a change, for simple-history: the signed-in person, or None for an API
    key (a district system is not a User; its requests carry an ApiKeyPrincipal, which
    :func:`_name_the_api_key` writes into the change reason instead)."""
    user = getattr(request, "user", None)
    return user if isinstance(user, models.Model) else None


@receiver(pre_create_historical_record)
def _name_the_api_key(sender, history_instance, **kwargs):
    """A change made with an API key names the key ("API key <name> (<prefix>)") as the
    history's change reason, unless the change gave a reason of its own."""
    if history_instance.history_change_reason:
        return
    request = getattr(HistoricalRecords.context, "request", None)
    principal = getattr(request, "user", None)
    if getattr(principal, "api_key", None) is not None:
        history_instance.history_change_reason = actor_label(principal)


class Gender(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class IdType(models.TextChoices):
    RESIDENT_ID = "id_card", _("resident identity card")
    PASSPORT = "passport", _("passport")
    HMT_PERMIT = "hmt_permit", _("Hong Kong, Macao or Taiwan permit")
    FOREIGNER_PERMIT = "foreigner_permit", _("foreigner's permanent residence card")


class ResidenceStatus(models.TextChoices):
    REGISTERED = "registered", _("registered (户籍)")
    PERMANENT = "permanent", _("permanent resident (常住)")
    RENTING = "renting", _("renting (租住)")
    NON_RESIDENT = "non_resident", _("non-resident (外来)")


class Relation(models.TextChoices):
    HEAD = "head", _("head of household")
    SPOUSE = "spouse", _("spouse")
    CHILD = "child", _("child")
    PARENT = "parent", _("parent")
    GRANDCHILD = "grandchild", _("grandchild")
    GRANDPARENT = "grandparent", _("grandparent")
    SIBLING = "sibling", _("sibling")
    CHILD_IN_LAW = "child_in_law", _("son- or daughter-in-law")
    TENANT = "tenant", _("tenant")
    OTHER = "other", _("other")


class Tenure(models.TextChoices):
    OWNER = "owner", _("owner-occupier")
    TENANT = "tenant", _("tenant")
    OTHER = "other", _("other")


class CareTag(models.Model):
    """A configurable care tag: 党员, 独居老人, 残疾, 低保, 退役军人, 重点关爱 …"""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=30, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("care tag")
        verbose_name_plural = _("care tags")
        ordering = ["sort_order", "name"]

    def __str__(self):
        return self.name


class Household(PlaceBound, TimeStampedModel):
    """户: the people living in one dwelling, with a head (户主)."""

    dwelling = models.ForeignKey(
        Dwelling, on_delete=models.PROTECT, related_name="households", verbose_name=_("dwelling")
    )
    place_parents = ("dwelling",)
    tenure = models.CharField(
        _("tenure"), max_length=10, choices=Tenure.choices, default=Tenure.OWNER
    )
    head = models.ForeignKey(
        "Resident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("head of household"),
    )
    moved_in = models.DateField(_("moved in"), null=True, blank=True)
    moved_out = models.DateField(_("moved out"), null=True, blank=True, db_index=True)
    notes = models.TextField(_("notes"), blank=True)
    # The visitor link's generation (residents.services.visitors): replacing the link
    # adds one, which makes every earlier link invalid.
    visitor_link_generation = models.PositiveIntegerField(
        _("visitor link generation"), default=0, editable=False
    )

    history = HistoricalRecords(
        excluded_fields=["updated_at", "visitor_link_generation"], get_user=history_user
    )

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["dwelling_id", "id"]
        indexes = [models.Index(fields=["neighbourhood", "moved_out"])]

    def __str__(self):
        return str(self.dwelling) if self.dwelling_id else str(_("household"))

    @property
    def is_current(self) -> bool:
        return self.moved_out is None


# A household has at most one current head (户主): one current member whose relation
# is "head" (moved-out and anonymised members are the past). residents.rules.settle_head
# is the rule the writers apply; this constraint is its guard in the database.
HEAD_CONSTRAINT = "resident_one_current_head"


class ResidentQuerySet(PlaceBoundQuerySet):
    def current(self):
        return self.filter(moved_out__isnull=True, anonymised_at__isnull=True)

    def born_on_or_before(self, day: datetime.date):
        return self.filter(birth_date__lte=day)

    def aged_at_least(self, years: int, today: datetime.date | None = None):
        today = today or timezone.localdate()
        return self.filter(birth_date__lte=_years_before(today, years))


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class Resident(PlaceBound, TimeStampedModel):
    """居民: one person in the registry. Identifiers are encrypted (see module doc)."""

    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("household"),
    )
    # The household's dwelling, copied on save; the place ids are copied from it.
    dwelling = models.ForeignKey(
        Dwelling, on_delete=models.PROTECT, related_name="+", verbose_name=_("dwelling")
    )
    place_parents = ("dwelling",)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    name_pinyin = models.CharField(
        _("name in pinyin"), max_length=200, editable=False, db_index=True
    )
    name_initials = models.CharField(_("initials"), max_length=50, editable=False, db_index=True)
    # The name's 1- and 2-character substrings, space-separated (GIN-indexed on PostgreSQL).
    name_grams = models.TextField(editable=False, blank=True, default="")
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True, db_index=True)
    id_type = models.CharField(
        _("identity document"), max_length=20, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    id_encrypted = models.TextField(editable=False, blank=True)
    id_hash = models.CharField(max_length=64, editable=False, blank=True)
    id_head = models.CharField(max_length=3, editable=False, blank=True)
    id_last4 = models.CharField(max_length=4, editable=False, blank=True, db_index=True)
    phone_encrypted = models.TextField(editable=False, blank=True)
    phone_head = models.CharField(max_length=3, editable=False, blank=True)
    phone_hash = models.CharField(max_length=64, editable=False, blank=True, db_index=True)
    phone_last4 = models.CharField(max_length=4, editable=False, blank=True, db_index=True)
    relation = models.CharField(
        _("relation to head"), max_length=20, choices=Relation.choices, default=Relation.HEAD
    )
    residence_status = models.CharField(
        _("residence status"),
        max_length=20,
        choices=ResidenceStatus.choices,
        default=ResidenceStatus.REGISTERED,
    )
    nationality = models.CharField(
        _("nationality"),
        max_length=2,
        default="CN",
        help_text=_("ISO 3166 country code, e.g. CN, US, JP."),
    )
    care_tags = models.ManyToManyField(
        CareTag, blank=True, related_name="residents", verbose_name=_("care tags")
    )
    lives_alone = models.BooleanField(_("lives alone"), default=False)
    moved_in = models.DateField(_("moved in"), null=True, blank=True)
    moved_out = models.DateField(_("moved out"), null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resident",
        verbose_name=_("account"),
    )
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    objects = ResidentQuerySet.as_manager()
    history = HistoricalRecords(
        get_user=history_user,
        excluded_fields=[
            "updated_at",
            "name_pinyin",
            "name_initials",
            "name_grams",
            "id_encrypted",
            "phone_encrypted",
        ],
    )

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["household_id", "id"]
        permissions = [
            ("view_full_identity", _("See full ID numbers and phone numbers (audited)")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["id_hash"], condition=~Q(id_hash=""), name="resident_unique_id_hash"
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(relation="head", moved_out__isnull=True, anonymised_at__isnull=True),
                name=HEAD_CONSTRAINT,
                violation_error_message=_("A household has one head (户主)."),
            ),
        ]
        indexes = [
            models.Index(fields=["neighbourhood", "moved_out"]),
            models.Index(fields=["neighbourhood", "birth_date"]),
            models.Index(fields=["neighbourhood", "name"]),
        ]

    def __str__(self):
        return self.name

    # What save() derives from the name; a bulk writer sets them with set_search_keys().
    SEARCH_KEY_FIELDS = ("name_pinyin", "name_initials", "name_grams")

    def set_search_keys(self, keys: NameSearchKeys | None = None) -> None:
        """Fill the name's search keys: ``keys`` (``name_search_keys(self.name)``, perhaps
        cached by a bulk writer) or computed now."""
        if keys is None:
            keys = name_search_keys(self.name)
        self.name_pinyin, self.name_initials, self.name_grams = keys

    def save(self, *args, **kwargs):
        self.set_search_keys()
        if self.household_id:
            self.dwelling_id = (
                Household.objects.filter(pk=self.household_id)
                .values_list("dwelling_id", flat=True)
                .get()
            )
        super().save(*args, **kwargs)

    @property
    def masked_id(self) -> str:
        if not self.id_last4:
            return ""
        head = self.id_head if self.id_type == IdType.RESIDENT_ID else ""
        return f"{head or '***'}{'*' * 11}{self.id_last4}"

    @property
    def masked_phone(self) -> str:
        return f"{self.phone_head or '1**'}****{self.phone_last4}" if self.phone_last4 else ""

    # --- identifiers (pure computations; who may reveal them is decided by services)
    def set_identifier(self, id_type: str, number: str) -> None:
        """Store an ID or passport number encrypted, hashed and masked.

        ``number`` must already be validated and normalised (services do that).
        """
        self.id_type = id_type
        if not number:
            self.id_encrypted = self.id_hash = self.id_head = self.id_last4 = ""
            return
        self.id_encrypted = cipher().encrypt(number)
        self.id_hash = identifier_hash(id_type, number)
        self.id_head = number[:3] if id_type == IdType.RESIDENT_ID else ""
        self.id_last4 = number[-4:]

    def set_phone(self, phone: str) -> None:
        if not phone:
            self.phone_encrypted = self.phone_hash = self.phone_head = self.phone_last4 = ""
            return
        self.phone_encrypted = cipher().encrypt(phone)
        self.phone_hash = phone_hash(phone)
        self.phone_head = phone[:3]
        self.phone_last4 = phone[-4:]

    def decrypt_identifier(self) -> str:
        return cipher().decrypt(self.id_encrypted) if self.id_encrypted else ""

    def decrypt_phone(self) -> str:
        return cipher().decrypt(self.phone_encrypted) if self.phone_encrypted else ""

    def age(self, today: datetime.date | None = None) -> int | None:
        if not self.birth_date:
            return None
        today = today or timezone.localdate()
        b = self.birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


# name__fragment: a 1-2 character fragment, by the name's grams on PostgreSQL.
Resident._meta.get_field("name").register_lookup(NameFragment)


# Dwellings belong to buildings/, but their history is kept with the registry
# (the history table lives in this app's migrations).
register_history(
    Dwelling,
    app="residents",
    excluded_fields=["updated_at"],
    m2m_fields=[],
    related_name="+",
    get_user=history_user,
)
