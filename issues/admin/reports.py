"""报事 in the back office: the handlers' scoped list and the read-only report page.

Scoped like every place-bound admin (core/admin_scoping.py) by ``buildings.handle_issues``:
property staff see their estates' reports, cadres their neighbourhood's, department
staff their subdistrict's; any other report is a 404 in every view. Nothing is edited
through a form: a report moves only through ``issues.services`` - here the bulk
"acknowledge" and "reject with a reason" actions, on the handling pages the rest - and
a service's refusal is an admin message, with nothing saved for that report. The
list's count is bounded and its filters read no scoped rows (core/admin_lists.py).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from buildings.permissions import HANDLE_ISSUES
from core.admin_lists import BoundedChangeListMixin, PlaceCascade, PlaceLevel
from core.admin_scoping import ScopedModelAdmin

from ..models import OPEN_STATUSES, Category, Issue, IssueEvent
from ..selectors.reports import LIST_RELATED

ISSUE_PLACES = PlaceCascade(
    PlaceLevel("subdistrict"),
    PlaceLevel("neighbourhood", parent="subdistrict"),
    PlaceLevel("estate", parent="neighbourhood"),
    PlaceLevel("building", parent="estate"),
)


class CategoryFilter(admin.SimpleListFilter):
    """The categories: reference data, one short list whatever the scope."""

    title = _("category")
    parameter_name = "category__id__exact"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in _category_names()]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(category_id=int(value))


def _category_names():
    return [(c.pk, c.name) for c in Category.objects.only("pk", "name_zh", "name_en", "code")]


class OverdueFilter(admin.SimpleListFilter):
    """Open reports past their holder's deadline (``due_at``), or within it."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", _("Within the deadline"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(status__in=OPEN_STATUSES, due_at__lt=now)
        if self.value() == "no":
            return queryset.filter(status__in=OPEN_STATUSES).filter(
                Q(due_at__gte=now) | Q(due_at__isnull=True)
            )
        return queryset


class IssueEventInline(admin.TabularInline):
    """The timeline, internal notes included, read-only: steps are written by the
    services alone. Seen by whoever may see the report (the parent admin is scoped)."""

    model = IssueEvent
    fields = ("created_at", "kind", "public", "actor_label", "actor", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")
    verbose_name = _("timeline step")
    verbose_name_plural = _("timeline")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    def has_view_permission(self, request, obj=None):
        return self.admin_site.get_model_admin(Issue).has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Shown to the reporter and on the report's page."),
    )


# The reject action's intermediate page (the "delete selected" confirmation's pattern);
# its words come translated from the view (makemessages does not read this string).
REJECT_TEMPLATE = """{% extends "admin/base_site.html" %}
{% block breadcrumbs %}<div class="breadcrumbs"><a href="{% url 'admin:index' %}">{{ home }}</a>
&rsaquo; <a href="{% url 'admin:issues_issue_changelist' %}">
{{ opts.verbose_name_plural|capfirst }}</a> &rsaquo; {{ title }}</div>{% endblock %}
{% block content %}
<p>{{ question }}</p>
<ul>{% for issue in issues %}<li>{{ issue }} · {{ issue.get_status_display }}</li>{% endfor %}</ul>
<form method="post">{% csrf_token %}
{{ form.as_p }}
{% for issue in issues %}<input type="hidden" name="_selected_action" value="{{ issue.pk }}">
{% endfor %}
<input type="hidden" name="action" value="reject_selected">
<input type="hidden" name="apply" value="1">
<input type="submit" value="{{ submit }}">
<a href="{% url 'admin:issues_issue_changelist' %}" class="button cancel-link">{{ cancel }}</a>
</form>
{% endblock %}
"""


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or gettext("You may not handle this report.")


@admin.register(Issue)
class IssueAdmin(BoundedChangeListMixin, ScopedModelAdmin):
    """报事: read-only rows; the moves are actions calling ``issues.services``."""

    scope_permission = HANDLE_ISSUES
    scoped_actions = ("view",)
    list_display = (
        "number",
        "category",
        "status",
        "handler_display",
        "place_display",
        "due_at",
        "overdue_display",
        "upvote_count",
        "created_at",
    )
    list_display_links = ("number",)
    list_select_related = LIST_RELATED
    list_filter = (
        "status",
        CategoryFilter,
        "handler_level",
        "source",
        OverdueFilter,
        *ISSUE_PLACES.filters,
    )
    search_fields = ("description",)  # get_search_results adds the report number
    search_help_text = _("Search by report number (#12) or words of the description.")
    ordering = ("-id",)
    actions = ("acknowledge_selected", "reject_selected")
    inlines = (IssueEventInline,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("number", "status", "handle_link"),
                    "category",
                    "description",
                    "attributes_display",
                    ("neighbourhood", "estate", "building"),
                    "address",
                    ("latitude", "longitude"),
                )
            },
        ),
        (
            _("Reporter and contact"),
            {
                "fields": (
                    ("source", "external_id"),
                    ("reporter", "reporter_public"),
                    ("contact_name", "contact_phone", "contact_email"),
                    ("entered_by", "api_key"),
                )
            },
        ),
        (
            _("Handling"),
            {
                "fields": (
                    ("handler_level", "handler_display", "escalations"),
                    ("acknowledge_due", "resolve_due", "committed_due", "due_at"),
                    ("acknowledged_at", "committed_at", "resolved_at", "closed_at"),
                )
            },
        ),
        (
            _("Outcome"),
            {
                "fields": (
                    "resolution_note",
                    ("rating", "rating_comment", "reopen_count"),
                    ("reason", "merged_into"),
                    ("upvote_count", "follower_count"),
                    ("created_at", "activity_at"),
                )
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [
            field
            for line in (options["fields"] for _name, options in self.fieldsets)
            for item in line
            for field in (item if isinstance(item, tuple) else (item,))
        ]

    def safely_get_queryset(self, request):
        return (
            super()
            .safely_get_queryset(request)
            .select_related("reporter", "entered_by", "api_key", "merged_into__category")
        )

    # --- nothing is written through a form ---------------------------------------------

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        number = term.lstrip("#")
        if number.isdigit() and len(number) < 12:
            return queryset.filter(Q(pk=int(number)) | Q(description__icontains=term)), False
        return super().get_search_results(request, queryset, search_term)

    # --- columns -----------------------------------------------------------------------

    @admin.display(description=_("number"), ordering="id")
    def number(self, obj):
        return f"#{obj.pk}"

    @admin.display(description=_("handled by"))
    def handler_display(self, obj):
        return obj.handler_label

    @admin.display(description=_("place"), ordering="neighbourhood")
    def place_display(self, obj):
        parts = [obj.neighbourhood.name]
        if obj.estate_id:
            parts.append(obj.estate.name)
        if obj.building_id:
            parts.append(obj.building.number)
        return " · ".join(parts)

    @admin.display(description=_("overdue"), boolean=True)
    def overdue_display(self, obj):
        return bool(obj.is_open and obj.due_at and obj.due_at < timezone.now())

    @admin.display(description=_("attributes"))
    def attributes_display(self, obj):
        if not obj.attributes:
            return "-"
        questions = {a.code: a for a in obj.category.attributes.all()}
        lines = []
        for code, value in obj.attributes.items():
            attribute = questions.get(code)
            label = attribute.description if attribute else code
            values = value if isinstance(value, list) else [value]
            shown = ", ".join(attribute.value_name(str(v)) if attribute else str(v) for v in values)
            lines.append(format_html("<div>{}: {}</div>", label, shown))
        return format_html("{}", "".join(str(line) for line in lines)) if lines else "-"

    @admin.display(description=_("handling page"))
    def handle_link(self, obj):
        try:
            url = reverse("issues:handle", args=[obj.pk])
        except NoReverseMatch:
            return "-"
        return format_html('<a href="{}">{}</a>', url, gettext("Handle this report"))

    # --- the moves (issues.services) ------------------------------------------------------

    @admin.action(description=_("Acknowledge the selected reports"))
    def acknowledge_selected(self, request, queryset):
        from issues import services

        ids = list(queryset.values_list("pk", flat=True))
        try:
            done = services.issue_bulk_acknowledge(issue_ids=ids, actor=request.user)
        except (ValidationError, PermissionDenied) as error:
            self.message_user(request, _error_text(error), messages.ERROR)
            return None
        self.message_user(
            request,
            ngettext("%(count)d report acknowledged.", "%(count)d reports acknowledged.", done)
            % {"count": done},
            messages.SUCCESS,
        )
        skipped = len(ids) - done
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d report was not acknowledged (not newly submitted, or not "
                    "yours to handle).",
                    "%(count)d reports were not acknowledged (not newly submitted, or not "
                    "yours to handle).",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
        return None

    @admin.action(description=_("Reject the selected reports, with a reason"))
    def reject_selected(self, request, queryset):
        from issues import services

        issues = list(queryset.select_related(*LIST_RELATED))
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if not form.is_bound or not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": gettext("Reject reports"),
                "question": ngettext(
                    "Reject this report?", "Reject these %(count)d reports?", len(issues)
                )
                % {"count": len(issues)},
                "home": gettext("Home"),
                "submit": gettext("Reject"),
                "cancel": gettext("Cancel"),
                "opts": self.opts,
                "issues": issues,
                "form": form,
            }
            template = engines["django"].from_string(REJECT_TEMPLATE)
            return TemplateResponse(request, template, context)
        rejected = 0
        for issue in issues:
            try:
                services.issue_reject(
                    issue=issue, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except (ValidationError, PermissionDenied) as error:
                self.message_user(
                    request,
                    gettext("Report #%(number)s: %(error)s")
                    % {"number": issue.pk, "error": _error_text(error)},
                    messages.ERROR,
                )
            else:
                rejected += 1
        if rejected:
            self.message_user(
                request,
                ngettext("%(count)d report rejected.", "%(count)d reports rejected.", rejected)
                % {"count": rejected},
                messages.SUCCESS,
            )
        return None
