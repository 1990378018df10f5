"""People: login accounts and the roles they hold on places."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel

from .validators import normalise_mobile, validate_mobile


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, phone, password, **extra):
        phone = normalise_mobile(phone)
        validate_mobile(phone)
        user = self.model(phone=phone, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, phone, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(phone, password, **extra)

    def create_superuser(self, phone, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(phone, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(phone=normalise_mobile(username))


class User(AbstractBaseUser, PermissionsMixin):
    """A login account: residents, cadres, property staff alike.

    The username is a mainland mobile number.
    """

    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    phone = models.CharField(
        _("mobile number"),
        max_length=11,
        unique=True,
        validators=[validate_mobile],
        error_messages={"unique": _("An account with this mobile number already exists.")},
    )
    name = models.CharField(_("display name"), max_length=50, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS
    )
    verified = models.BooleanField(
        _("real-name verified"),
        default=False,
        help_text=_("Linked to a registry record; only verified residents post, vote and upvote."),
    )
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Can sign in to the back office (cadres, social workers)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["phone"]

    def __str__(self):
        return self.name or self.masked_phone

    def clean(self):
        super().clean()
        self.phone = normalise_mobile(self.phone)

    @property
    def masked_phone(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]}" if len(self.phone) == 11 else self.phone

    def get_full_name(self):
        return self.name or self.phone

    def get_short_name(self):
        return self.name or self.masked_phone


class Role(models.TextChoices):
    """The product's roles; each is a bundle of place permissions (see roles.py)."""

    DISTRICT_STAFF = "district_staff", _("district staff")
    DEPARTMENT = "department", _("subdistrict department")
    SECRETARY = "secretary", _("party secretary")
    CADRE = "cadre", _("committee cadre")
    GRID_WORKER = "grid_worker", _("grid worker")
    PROPERTY_STAFF = "property_staff", _("property staff")
    OWNERS_COMMITTEE = "owners_committee", _("owners' committee member")
    BUILDING_LEADER = "building_leader", _("building leader")


class RoleAssignment(TimeStampedModel):
    """Why a user holds permissions on a place: the role, who granted it, when.

    The guardian object permissions are derived from these rows by
    ``residents.services.role_grant`` / ``role_revoke``.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="role_assignments",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    place_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", verbose_name=_("place type")
    )
    place_id = models.PositiveBigIntegerField(_("place id"))
    place = GenericForeignKey("place_type", "place_id")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("granted by"),
    )

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering = ["user_id", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "place_type", "place_id"], name="role_assignment_unique"
            )
        ]
        indexes = [models.Index(fields=["place_type", "place_id"])]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.place}"


class SmsCode(models.Model):
    """A 6-digit code sent by text message for sign-up, sign-in or a password reset.

    Only a keyed hash of the code is kept (``accounts.sms_codes.code_hash``). A code is
    usable once, until ``expires_at``, and for a few wrong tries; ``used_at`` is set when
    it is used up (or, for a request that must not be usable, when it is made). The rows
    also count the requests for the per-phone and per-address limits.
    """

    class Purpose(models.TextChoices):
        SIGNUP = "signup", _("sign-up")
        SIGNIN = "signin", _("sign-in")
        RESET = "reset", _("password reset")

    phone = models.CharField(_("mobile number"), max_length=11)
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    code_hash = models.CharField(_("code hash"), max_length=64)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)

    class Meta:
        verbose_name = _("text message code")
        verbose_name_plural = _("text message codes")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["phone", "created_at"], name="smscode_phone_created"),
            models.Index(fields=["client_ip", "created_at"], name="smscode_ip_created"),
        ]

    def __str__(self):
        return f"{self.phone[:3]}****{self.phone[-4:]} · {self.get_purpose_display()}"
