"""GET /api/v1/issue-board/: the responsiveness board (红黑榜) as JSON.

The same rows as the page (``issues.selectors.board.board_for``), for the principal's
scope of ``buildings.handle_issues`` (an API key: its jurisdiction; it needs
``issues:read``). Query parameters: ``start`` and ``end`` (dates, both included;
default: this month so far) and ``level`` (property, committee, department).
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from buildings.permissions import HANDLE_ISSUES
from core.api.schema import ERROR_DESCRIPTIONS, LinliAutoSchema
from core.api.views import ScopedQuerysetMixin

from ..apps import ISSUES_READ
from ..models import HandlerLevel, Issue
from ..selectors.board import board_for

MAX_DAYS = 366 * 2


class BoardQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text=_("First day (default: the 1st)."))
    end = serializers.DateField(required=False, help_text=_("Last day, included (default: today)."))
    level = serializers.ChoiceField(choices=HandlerLevel.choices, required=False)

    def validate(self, attrs):
        today = timezone.localdate()
        start = attrs.get("start") or today.replace(day=1)
        end = attrs.get("end") or today
        if end < start:
            raise serializers.ValidationError(
                {"end": _("The end date is before the start date.")}, code="invalid"
            )
        if (end - start).days > MAX_DAYS:
            raise serializers.ValidationError(
                {"start": _("Choose at most two years.")}, code="invalid"
            )
        attrs["start"], attrs["end"] = start, end
        return attrs


class BoardRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    level = serializers.ChoiceField(choices=HandlerLevel.choices)
    handler_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    rank = serializers.IntegerField(allow_null=True, help_text=_("None: too few reports."))
    score = serializers.FloatField(allow_null=True)
    reports = serializers.IntegerField()
    acknowledge_counted = serializers.IntegerField()
    acknowledged_on_time = serializers.IntegerField()
    acknowledge_rate = serializers.FloatField(allow_null=True)
    resolve_counted = serializers.IntegerField()
    resolved_on_time = serializers.IntegerField()
    resolve_rate = serializers.FloatField(allow_null=True)
    resolved = serializers.IntegerField()
    median_resolve_hours = serializers.FloatField(allow_null=True)
    ratings = serializers.IntegerField()
    average_rating = serializers.FloatField(allow_null=True)
    reopened = serializers.IntegerField()
    reopen_rate = serializers.FloatField(allow_null=True)


class BoardSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    results = BoardRowSerializer(many=True)


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


class _OneObjectSchema(LinliAutoSchema):
    """The board's ``list`` answers one object (the period and its rows), not an array,
    and a 400 for a bad period."""

    def _is_list_view(self, serializer=None) -> bool:
        return False

    def error_codes(self) -> dict[int, str]:
        return {**super().error_codes(), 400: ERROR_DESCRIPTIONS[400]}


class IssueBoardViewSet(ScopedQuerysetMixin, viewsets.GenericViewSet):
    """The handlers of the principal's reports, ranked (the board's rows)."""

    schema = _OneObjectSchema()
    scope_permission = HANDLE_ISSUES
    read_scope = ISSUES_READ
    serializer_class = BoardSerializer
    pagination_class = None
    filter_backends = []

    def safely_get_queryset(self):
        return Issue.objects.all()

    @extend_schema(
        parameters=[BoardQuerySerializer],
        responses={200: BoardSerializer},
        summary="The responsiveness board (红黑榜)",
    )
    def list(self, request, *args, **kwargs):
        query = BoardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["start"], query.validated_data["end"]
        rows = board_for(
            scope=self.get_scope(),
            start=_midnight(start),
            end=_midnight(end + datetime.timedelta(days=1)),
            level=query.validated_data.get("level"),
        )
        body = BoardSerializer({"start": start, "end": end, "results": rows})
        return Response(body.data)


def register(router) -> None:
    """Add /api/v1/issue-board/ (list only)."""
    router.register("issue-board", IssueBoardViewSet, basename="issue-board")
