"""Registry endpoints under /api/v1/: residents, households, door-access events.

* ``/residents/`` and ``/households/`` (+ detail): GET needs the API-key scope
  ``residents:read``, POST and PATCH ``residents:write``. Rows are those of the
  key's jurisdiction, or of the places a signed-in user manages
  (``buildings.manage_neighbourhood``); anything else is a 404. Writes go
  through ``residents.services``. Identifiers are masked; full values never
  leave through the API. No DELETE (people move out; see ``moved_out``).
* ``/access-events/``: POST only, API keys with ``access:write`` only (door
  systems, not people). The body is one event or a list of up to 500. A batch is
  all or nothing: if any event names a resident or dwelling that is missing or
  outside the key's jurisdiction, nothing is stored and the answer is a 404
  whose ``fields`` name each such event as ``"<index>.resident_id"`` (or
  ``dwelling_id``); shape errors are a 400 with the same ``"<index>.<field>"``
  keys. An event more than 5 minutes in the future, or before 2000, is refused (400).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from buildings.permissions import MANAGE
from core.api.authentication import ApiKeyPrincipal
from core.api.errors import error_body
from core.api.permissions import HasScope
from core.api.schema import ErrorSerializer, LinliAutoSchema
from core.api.views import ScopedWriteViewSet, unscoped_api
from core.scoping import scope_for

from ..apps import ACCESS_WRITE, RESIDENTS_READ, RESIDENTS_WRITE
from ..models import Household, Resident
from ..search import search_token
from ..selectors.registry import current_member_count
from ..services import (
    access_events_record,
    household_create,
    household_set_head,
    household_update,
    resident_create,
    resident_update,
)
from ..services.wellbeing import MAX_BATCH, EventInput, SubjectNotFound
from . import filters, serializers


def _actor(request):
    """Who is writing: the signed-in user, or the API key's principal (``core.audit``
    names the key in audit events; ``residents.models.registry`` in the history)."""
    return request.user


class SearchBodySerializer(drf_serializers.Serializer):
    search = drf_serializers.CharField(
        max_length=100,
        help_text="What the query parameter `search` takes, a whole ID number included.",
    )


class SearchByPostMixin:
    """``POST <list>/search/`` with ``{"search": ...}``: the list's search, for what must not
    travel in a URL (a whole ID number). Other filters stay query parameters. The answer
    is the list's first page; its ``next`` / ``previous`` links are GETs on the list
    with the number swapped for its search token."""

    required_scopes = None  # set for the search action only (a POST that reads)

    @action(
        detail=False,
        methods=["post"],
        url_path="search",
        parser_classes=[JSONParser],
        required_scopes={"POST": RESIDENTS_READ},
    )
    def search(self, request, *args, **kwargs):
        body = SearchBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        params = request.query_params.copy()
        params.pop("cursor", None)
        params["search"] = search_token(body.validated_data["search"].strip())
        filterset = self.filterset_class(params, queryset=self.get_queryset(), request=request)
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        page = self.paginate_queryset(filterset.qs)
        # the links of the page: GETs on the list, with the token
        self.paginator.base_url = f"{self.reverse_action('list')}?{params.urlencode()}"
        data = self.serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)


class RegistryViewSet(ScopedWriteViewSet):
    scope_permission = MANAGE
    read_scope = RESIDENTS_READ
    write_scope = RESIDENTS_WRITE

    #: output serializer, and input serializers per write action
    create_serializer_class = None
    update_serializer_class = None

    def get_serializer_class(self):
        if self.action == "create":
            return self.create_serializer_class
        if self.action == "partial_update":
            return self.update_serializer_class
        return self.serializer_class

    def _output(self, obj, status_code):
        fresh = self.get_queryset().get(pk=obj.pk)
        return Response(
            self.serializer_class(fresh, context=self.get_serializer_context()).data,
            status=status_code,
        )


@extend_schema(tags=["registry"])
@extend_schema_view(
    search=extend_schema(
        request=SearchBodySerializer,
        responses=serializers.ResidentSerializer(many=True),
        description="Search residents by what must not go in a URL (a whole ID number).",
    )
)
class ResidentViewSet(SearchByPostMixin, RegistryViewSet):
    """Residents (居民) of the registry, masked identifiers."""

    serializer_class = serializers.ResidentSerializer
    create_serializer_class = serializers.ResidentCreateSerializer
    update_serializer_class = serializers.ResidentUpdateSerializer
    filterset_class = filters.ResidentFilter

    def safely_get_queryset(self):
        return Resident.objects.select_related("estate", "building", "dwelling").prefetch_related(
            "care_tags"
        )

    @extend_schema(
        request=serializers.ResidentCreateSerializer, responses=serializers.ResidentSerializer
    )
    def create(self, request, *args, **kwargs):
        """Register a resident in a household (ID numbers validated as GB 11643)."""
        data = self._validated(request.data)
        resident = resident_create(by=_actor(request), **data)
        return self._output(resident, status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.ResidentUpdateSerializer, responses=serializers.ResidentSerializer
    )
    def partial_update(self, request, *args, **kwargs):
        """Change a resident; only the fields sent change."""
        resident = self.get_object()
        data = self._validated(request.data, partial=True)
        resident_update(resident=resident, by=_actor(request), **data)
        return self._output(resident, status.HTTP_200_OK)

    def _validated(self, data, partial=False):
        serializer = self.get_serializer(data=data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


@extend_schema(tags=["registry"])
@extend_schema_view(
    search=extend_schema(
        request=SearchBodySerializer,
        responses=serializers.HouseholdSerializer(many=True),
        description="Search households by a member's whole ID number (never in a URL).",
    )
)
class HouseholdViewSet(SearchByPostMixin, RegistryViewSet):
    """Households (户): a dwelling, its head and its members."""

    serializer_class = serializers.HouseholdSerializer
    create_serializer_class = serializers.HouseholdCreateSerializer
    update_serializer_class = serializers.HouseholdUpdateSerializer
    filterset_class = filters.HouseholdFilter

    def safely_get_queryset(self):
        return Household.objects.select_related("estate", "building", "dwelling", "head").annotate(
            member_count=current_member_count()
        )

    @extend_schema(
        request=serializers.HouseholdCreateSerializer, responses=serializers.HouseholdSerializer
    )
    def create(self, request, *args, **kwargs):
        """Open a household in a dwelling; add its members with POST /residents/."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        household = household_create(by=_actor(request), **serializer.validated_data)
        return self._output(household, status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.HouseholdUpdateSerializer, responses=serializers.HouseholdSerializer
    )
    def partial_update(self, request, *args, **kwargs):
        """Change tenure or moved-in date, or name another member head of household."""
        household = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        head = data.pop("head", None)
        if data:
            household_update(household=household, by=_actor(request), **data)
        if head is not None:
            household_set_head(household=household, resident=head)
        return self._output(household, status.HTTP_200_OK)


# --- door-access events ------------------------------------------------------------------


class ApiKeysOnly(permissions.BasePermission):
    """Door-access events come from systems: browser sessions are refused."""

    def has_permission(self, request, view):
        if isinstance(request.user, ApiKeyPrincipal):
            return True
        raise exceptions.PermissionDenied(
            _("Door-access events are sent with an API key."), code="api_key_required"
        )


ACCESS_EVENT_REQUEST = PolymorphicProxySerializer(
    component_name="AccessEvents",
    serializers=[
        serializers.AccessEventInputSerializer,
        serializers.AccessEventInputSerializer(many=True),
    ],
    resource_type_field_name=None,
    many=False,
)


@unscoped_api(
    "POST only, no queryset: access_events_record checks every event against the key's "
    "jurisdiction (404 outside it)"
)
@extend_schema(tags=["wellbeing"])
class AccessEventViewSet(viewsets.GenericViewSet):
    """Door-access events (门禁) for wellbeing alerts: POST only, API keys with access:write."""

    write_scope = ACCESS_WRITE
    permission_classes = [HasScope, ApiKeysOnly]
    serializer_class = serializers.AccessEventInputSerializer
    schema = LinliAutoSchema()
    parser_classes = [JSONParser]
    pagination_class = None
    filter_backends = []

    @extend_schema(
        request=ACCESS_EVENT_REQUEST,
        responses={  # 400, 401, 403, 414 and 429 are added by LinliAutoSchema
            201: serializers.AccessEventResultSerializer,
            404: OpenApiResponse(
                ErrorSerializer,
                description="A resident or dwelling is missing or outside the key's "
                "jurisdiction; `fields` names each such event. Nothing was stored.",
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        """Record one door-access event, or a list of up to 500 (all or nothing)."""
        batch = isinstance(request.data, list)
        items = request.data if batch else [request.data]
        if batch and not items:
            raise exceptions.ValidationError({"non_field_errors": [_("Send at least one event.")]})
        if len(items) > MAX_BATCH:
            raise exceptions.ValidationError(
                {
                    "non_field_errors": [
                        _("Send at most %(max)s events at once.") % {"max": MAX_BATCH}
                    ]
                }
            )
        events, errors = [], {}
        for index, item in enumerate(items):
            serializer = self.get_serializer(data=item)
            if not serializer.is_valid():
                for field, messages in serializer.errors.items():
                    errors[_key(batch, index, field)] = [str(m) for m in messages]
                continue
            events.append(EventInput(**serializer.validated_data))
        if errors:
            raise exceptions.ValidationError(errors)
        try:
            stored = access_events_record(scope=scope_for(request.user, MANAGE), events=events)
        except SubjectNotFound as exc:
            fields = {
                _key(batch, index, field): [_("Not found.")]
                for index, field in sorted(exc.missing.items())
            }
            return Response(
                error_body(404, "not_found", _("Not found."), fields=fields),
                status=status.HTTP_404_NOT_FOUND,
            )
        except DjangoValidationError as exc:
            if batch:
                raise
            raise exceptions.ValidationError(  # a single event: "0.occurred_at" -> "occurred_at"
                {key.split(".", 1)[-1]: value for key, value in exc.message_dict.items()}
            ) from None
        result = {
            "count": len(stored),
            "events": [
                {
                    "id": event.pk,
                    "resident_id": event.resident_id,
                    "dwelling_id": event.dwelling_id,
                    "occurred_at": event.occurred_at,
                }
                for event in stored
            ],
        }
        return Response(
            serializers.AccessEventResultSerializer(result).data, status=status.HTTP_201_CREATED
        )


def _key(batch: bool, index: int, field: str) -> str:
    return f"{index}.{field}" if batch else field


ROUTES = [
    ("residents", ResidentViewSet, "resident"),
    ("households", HouseholdViewSet, "household"),
    ("access-events", AccessEventViewSet, "access-event"),
]


def register(router):
    """Add the registry endpoints to the /api/v1/ router."""
    for prefix, viewset, basename in ROUTES:
        router.register(prefix, viewset, basename=basename)
