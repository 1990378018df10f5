"""Issue reporting: categories (Open311 services), departments, reports and their steps.

A report (:class:`Issue`) is place-bound: it carries the place ids of the place-bound base,
so every list is scoped by one indexed predicate. Its workflow is the transitions table
:data:`TRANSITIONS`; only ``issues.services`` moves a report, one service per move, each
writing an :class:`IssueEvent` (the timeline). Upvotes and follows are rows with a unique
constraint; the denormalised ``upvote_count`` is moved by ``F()`` updates that follow a
successful insert or delete, never by read-modify-write.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from buildings.placebound import PlaceBound
from core.models import TimeStampedModel


def _pick(obj, field: str, language: str | None = None) -> str:
    """``<field>_zh`` or ``<field>_en`` by language (Chinese first; English falls back)."""
    language = language or get_language() or "zh-hans"
    if language.startswith("en"):
        return getattr(obj, f"{field}_en") or getattr(obj, f"{field}_zh")
    return getattr(obj, f"{field}_zh") or getattr(obj, f"{field}_en")


class HandlerLevel(models.TextChoices):
    """Who holds a report; escalation moves one level up (约请制)."""

    PROPERTY = "property", _("property company")
    COMMITTEE = "committee", _("neighbourhood committee")
    DEPARTMENT = "department", _("subdistrict department")


#: property → committee → department
NEXT_LEVEL = {
    HandlerLevel.PROPERTY: HandlerLevel.COMMITTEE,
    HandlerLevel.COMMITTEE: HandlerLevel.DEPARTMENT,
}


class Department(TimeStampedModel):
    """A subdistrict department that handles reports: 城管, 房管, 派出所 …

    Its staff hold the department role (``buildings.handle_issues``) on the subdistrict;
    ``staff`` says which department's inbox is theirs.
    """

    subdistrict = models.ForeignKey(
        "buildings.Subdistrict",
        on_delete=models.PROTECT,
        related_name="departments",
        verbose_name=_("subdistrict"),
    )
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="departments",
        verbose_name=_("staff"),
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["subdistrict_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["subdistrict", "code"], name="department_unique_code")
        ]

    def __str__(self):
        return self.name


class Category(TimeStampedModel):
    """An issue category: an Open311 service (``code`` is its ``service_code``)."""

    code = models.SlugField(_("service code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=80)
    group_zh = models.CharField(_("group (Chinese)"), max_length=50, blank=True)
    group_en = models.CharField(_("group (English)"), max_length=80, blank=True)
    description_zh = models.CharField(_("description (Chinese)"), max_length=200, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    keywords = models.CharField(_("keywords"), max_length=200, blank=True)
    handler_kind = models.CharField(_("handled by"), max_length=20, choices=HandlerLevel.choices)
    department_code = models.SlugField(
        _("department code"),
        max_length=30,
        blank=True,
        help_text=_(
            "The subdistrict department that handles the category, or takes it when a "
            "report escalates past the committee (e.g. chengguan)."
        ),
    )
    acknowledge_hours = models.PositiveIntegerField(_("acknowledge within (hours)"), default=24)
    resolve_hours = models.PositiveIntegerField(_("resolve within (hours)"), default=168)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "code"]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return _pick(self, "name")

    @property
    def group(self) -> str:
        return _pick(self, "group")

    @property
    def description(self) -> str:
        return _pick(self, "description")


class AttributeType(models.TextChoices):
    """Open311 attribute datatypes."""

    STRING = "string", _("short text")
    TEXT = "text", _("long text")
    NUMBER = "number", _("number")
    DATETIME = "datetime", _("date and time")
    SINGLE = "singlevaluelist", _("one of a list")
    MULTI = "multivaluelist", _("several of a list")


class CategoryAttribute(models.Model):
    """An extra question of a category (an Open311 service definition attribute).

    ``values`` is a list of ``{"key": ..., "name_zh": ..., "name_en": ...}`` for the list
    types, else empty.
    """

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="attributes", verbose_name=_("category")
    )
    code = models.SlugField(_("code"), max_length=40)
    datatype = models.CharField(_("type"), max_length=20, choices=AttributeType.choices)
    required = models.BooleanField(_("required"), default=False)
    description_zh = models.CharField(_("question (Chinese)"), max_length=200)
    description_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    values = models.JSONField(_("values"), default=list, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category attribute")
        verbose_name_plural = _("category attributes")
        ordering = ["category_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="attribute_unique_code")
        ]

    def __str__(self):
        return f"{self.category.code}.{self.code}"

    @property
    def description(self) -> str:
        return _pick(self, "description")

    def value_name(self, key: str, language: str | None = None) -> str:
        for value in self.values:
            if value.get("key") == key:
                return _pick_dict(value, "name", language)
        return key


def _pick_dict(value: dict, field: str, language: str | None) -> str:
    language = language or get_language() or "zh-hans"
    first, second = ("en", "zh") if language.startswith("en") else ("zh", "en")
    return value.get(f"{field}_{first}") or value.get(f"{field}_{second}") or ""


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    IN_PROGRESS = "in_progress", _("in progress")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")
    REJECTED = "rejected", _("rejected")
    MERGED = "merged", _("merged")


#: the statuses a report is still being worked in (Open311 "open")
OPEN_STATUSES = (Status.SUBMITTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS)
#: the statuses no more work happens in
FINAL_STATUSES = (Status.CLOSED, Status.REJECTED, Status.MERGED)


class Move(models.TextChoices):
    """The moves of the workflow; each is one service in ``issues.services.workflow``."""

    ACKNOWLEDGE = "acknowledge", _("acknowledge")
    COMMIT = "commit", _("commit to a date")
    PROGRESS = "progress", _("post an update")
    RESOLVE = "resolve", _("resolve")
    CONFIRM = "confirm", _("confirm and rate")
    AUTO_CLOSE = "auto_close", _("close automatically")
    REOPEN = "reopen", _("reopen")
    REJECT = "reject", _("reject")
    MERGE = "merge", _("merge into another report")


#: move -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    Move.ACKNOWLEDGE: ((Status.SUBMITTED,), Status.ACKNOWLEDGED),
    Move.COMMIT: ((Status.ACKNOWLEDGED, Status.IN_PROGRESS), Status.IN_PROGRESS),
    Move.PROGRESS: ((Status.IN_PROGRESS,), Status.IN_PROGRESS),
    Move.RESOLVE: ((Status.IN_PROGRESS,), Status.RESOLVED),
    Move.CONFIRM: ((Status.RESOLVED,), Status.CLOSED),
    Move.AUTO_CLOSE: ((Status.RESOLVED,), Status.CLOSED),
    Move.REOPEN: ((Status.RESOLVED, Status.CLOSED), Status.IN_PROGRESS),
    Move.REJECT: ((Status.SUBMITTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS), Status.REJECTED),
    Move.MERGE: ((Status.SUBMITTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS), Status.MERGED),
}


class Source(models.TextChoices):
    WEB = "web", _("resident, on the web")
    STAFF = "staff", _("staff, for a caller")
    HOTLINE = "hotline", _("12345 hotline")
    OPEN311 = "open311", _("Open311")
    API = "api", _("API")


class Issue(PlaceBound, TimeStampedModel):
    """A report: 件件有答复、事事有着落.

    The place is always a neighbourhood, and an estate and a building when the reporter
    picked them (``estate`` / ``building`` may be empty: a street address). Contact
    fields hold what a caller, the hotline or an Open311 client gave; they are shown to
    handlers only, never on public pages or in Open311 answers.
    """

    estate = models.ForeignKey(
        "buildings.Estate",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("estate"),
    )
    building = models.ForeignKey(
        "buildings.Building",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("building"),
    )
    # the ids are copied from the building when there is one; a report on an estate or a
    # street address has its estate and neighbourhood set by the service
    place_parents = ("building",)

    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="issues", verbose_name=_("category")
    )
    description = models.TextField(_("description"), max_length=2000)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )

    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    external_id = models.CharField(_("external id"), max_length=64, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_issues",
        verbose_name=_("reporter"),
    )
    reporter_public = models.BooleanField(_("show the reporter's name"), default=False)
    contact_name = models.CharField(_("contact name"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    api_key = models.ForeignKey(
        "core.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("API key"),
    )
    open311_token = models.CharField(max_length=32, blank=True, editable=False)

    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED
    )
    handler_level = models.CharField(
        _("handler level"), max_length=20, choices=HandlerLevel.choices
    )
    property_company = models.ForeignKey(
        "buildings.PropertyCompany",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="issues",
        verbose_name=_("property company"),
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="issues",
        verbose_name=_("department"),
    )
    escalations = models.PositiveSmallIntegerField(_("escalations"), default=0)

    acknowledge_due = models.DateTimeField(_("acknowledge by"))
    resolve_due = models.DateTimeField(_("resolve by"))
    committed_due = models.DateField(_("committed date"), null=True, blank=True)
    #: the current holder's deadline while the report is open: acknowledge by, commit by,
    #: or the end of the committed date; past it, the report escalates one level (the
    #: task in issues.tasks) and gets a new deadline. Sorting on it puts overdue first.
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    committed_at = models.DateTimeField(_("committed at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    #: when the last public step happened (the "recently updated" order)
    activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    resolution_note = models.TextField(_("resolution note"), blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=500, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged",
        verbose_name=_("merged into"),
    )
    upvote_count = models.PositiveIntegerField(_("upvotes"), default=0)
    follower_count = models.PositiveIntegerField(_("followers"), default=0)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["neighbourhood", "status", "-id"], name="issue_nbh_status"),
            models.Index(fields=["neighbourhood", "-upvote_count", "-id"], name="issue_nbh_votes"),
            models.Index(fields=["neighbourhood", "-id"], name="issue_nbh_newest"),
            models.Index(
                fields=["neighbourhood", "-activity_at", "-id"], name="issue_nbh_activity"
            ),
            models.Index(fields=["reporter", "-id"], name="issue_reporter"),
            models.Index(fields=["status", "due_at"], name="issue_status_due"),
            models.Index(fields=["status", "resolved_at"], name="issue_resolved_at"),
            models.Index(fields=["category", "status"], name="issue_category_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="issue_unique_external_id",
            ),
            models.UniqueConstraint(
                fields=["open311_token"],
                condition=~Q(open311_token=""),
                name="issue_unique_open311_token",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="issue_rating_1_to_5",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.category.name}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def handler_label(self) -> str:
        """Who holds the report, as shown (Open311 ``agency_responsible``); joins the
        property company, the department or the neighbourhood."""
        if self.handler_level == HandlerLevel.PROPERTY and self.property_company_id:
            return self.property_company.name
        if self.handler_level == HandlerLevel.DEPARTMENT and self.department_id:
            return self.department.name
        if self.handler_level == HandlerLevel.DEPARTMENT:
            return str(HandlerLevel.DEPARTMENT.label)
        return _("%(name)s committee") % {"name": self.neighbourhood.name}

    def allowed(self, move: str) -> bool:
        """Whether the transitions table allows ``move`` from the current status."""
        return self.status in TRANSITIONS[move][0]


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", _("reported")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    COMMITTED = "committed", _("committed to a date")
    PROGRESS = "progress", _("update")
    RESOLVED = "resolved", _("resolved")
    CONFIRMED = "confirmed", _("confirmed and rated")
    AUTO_CLOSED = "auto_closed", _("closed automatically")
    REOPENED = "reopened", _("reopened")
    REJECTED = "rejected", _("rejected")
    MERGED = "merged", _("merged")
    MERGED_IN = "merged_in", _("a duplicate was merged in")
    ESCALATED = "escalated", _("escalated")
    COMMENT = "comment", _("comment")
    NOTE = "note", _("internal note")


class IssueEvent(models.Model):
    """One step on a report's timeline. ``public=False`` steps (internal notes) are for
    handlers only."""

    issue = models.ForeignKey(
        Issue, on_delete=models.CASCADE, related_name="events", verbose_name=_("report")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    public = models.BooleanField(_("public"), default=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    #: who acted, as shown on the timeline ("城管科", "物业: 某某物业", "系统")
    actor_label = models.CharField(_("by (shown)"), max_length=100, blank=True)
    text = models.TextField(_("text"), blank=True, max_length=2000)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("timeline step")
        verbose_name_plural = _("timeline steps")
        ordering = ["issue_id", "created_at", "id"]
        indexes = [models.Index(fields=["issue", "created_at"], name="issue_event_timeline")]

    def __str__(self):
        return f"{self.issue_id} {self.kind}"


def _photo_path(instance, filename):  # pragma: no cover - names come from core.images
    return filename


class IssuePhoto(models.Model):
    """A photo of a report, or of a step (the resolution's photos). Files are written by
    ``core.images.process_image`` under random names; these fields hold the names."""

    issue = models.ForeignKey(
        Issue, on_delete=models.CASCADE, related_name="photos", verbose_name=_("report")
    )
    event = models.ForeignKey(
        IssueEvent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="photos",
        verbose_name=_("step"),
    )
    image = models.FileField(_("image"), upload_to=_photo_path, max_length=200)
    thumbnail = models.FileField(_("thumbnail"), upload_to=_photo_path, max_length=200)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["issue_id", "id"]

    def __str__(self):
        return self.image.name


class Upvote(models.Model):
    """我也遇到: one per person and report (the unique constraint is the guard)."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="upvotes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("upvote")
        verbose_name_plural = _("upvotes")
        constraints = [
            models.UniqueConstraint(fields=["issue", "user"], name="upvote_once_per_person")
        ]

    def __str__(self):
        return f"{self.issue_id}:{self.user_id}"


class Follow(models.Model):
    """Someone who hears about a report's public steps (the reporter and upvoters too)."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("follower")
        verbose_name_plural = _("followers")
        constraints = [
            models.UniqueConstraint(fields=["issue", "user"], name="follow_once_per_person")
        ]

    def __str__(self):
        return f"{self.issue_id}:{self.user_id}"
