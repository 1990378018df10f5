"""The back office: job runs (superusers), each run's share per neighbourhood and the
deliveries (cadres, their own places only). All read-only: they are records."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin_scoping import NeighbourhoodNameMixin, ScopedModelAdmin, SuperuserOnlyMixin

from .models import Delivery, JobRun, JobRunPlace


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class JobRunPlaceInline(_ReadOnly, admin.TabularInline):
    model = JobRunPlace
    fields = ("neighbourhood_id", "counts")
    readonly_fields = fields
    extra = 0


@admin.register(JobRun)
class JobRunAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "status", "started_at", "finished_at", "counts")
    list_filter = ("name", "status")
    date_hierarchy = "started_at"
    readonly_fields = ("name", "status", "started_at", "finished_at", "counts", "errors")
    inlines = [JobRunPlaceInline]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(JobRunPlace)
class JobRunPlaceAdmin(NeighbourhoodNameMixin, ScopedModelAdmin):
    list_display = ("job_name", "started_at", "neighbourhood_display", "counts")
    list_select_related = ("job_run",)
    readonly_fields = ("job_run", "neighbourhood_display", "counts")
    scoped_actions = ("view",)

    @admin.display(description=_("job"))
    def job_name(self, obj):
        return obj.job_run.name

    @admin.display(description=_("started at"))
    def started_at(self, obj):
        return obj.job_run.started_at


@admin.register(Delivery)
class DeliveryAdmin(NeighbourhoodNameMixin, ScopedModelAdmin):
    list_display = ("kind", "recipient", "channel", "status", "attempts", "created_at", "sent_at")
    list_filter = ("channel", "status", "kind")
    list_select_related = ("recipient",)
    search_fields = ("kind", "key")
    readonly_fields = (
        "kind",
        "object_type",
        "object_id",
        "key",
        "recipient",
        "channel",
        "status",
        "subject",
        "body",
        "neighbourhood_display",
        "attempts",
        "last_error",
        "send_after",
        "sent_at",
        "created_at",
    )
    fields = readonly_fields
    scoped_actions = ("view",)
