"""Report endpoints under /api/v1/: reports (报事), their moves, comments and photos, and
the categories.

* ``/reports/`` (+ detail): GET needs the API-key scope ``issues:read``, POST
  ``issues:write``. Rows are those of the key's jurisdiction, or of the places a
  signed-in user handles (``buildings.handle_issues``: property staff their estates,
  cadres their neighbourhoods, departments their subdistrict); anything else is a 404.
  The list pages with a cursor on ``-id`` (newest first) and reads plain rows.
* Handlers (signed-in staff, and API keys with ``issues:write``) also see the contact
  fields and the internal steps of the timeline; a key with ``issues:read`` alone sees
  the public timeline and no contact fields.
* ``POST /reports/`` writes through ``issues.services.issue_create`` (source ``api``);
  the place (a building, an estate, or a neighbourhood and an address) must lie in the
  caller's jurisdiction (else a 400). ``external_id`` is unique among API reports: a
  second POST with the same one is a 409 ``duplicate``.
* ``POST /reports/{id}/<move>/``: acknowledge, commit, progress, resolve, reject, merge
  (handlers); confirm and reopen (the reporter, signed in). A move the report's status
  does not allow is a 409 ``transition`` with the service's message.
* ``/reports/{id}/comments/`` (GET, POST) and ``/reports/{id}/photos/`` (POST, multipart,
  one ``image`` per request; at most 9 per report).
* ``/report-categories/`` (+ detail by code): the categories and their attributes.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from buildings.models import Building, Estate, Neighbourhood
from buildings.permissions import HANDLE_ISSUES
from core.api.authentication import ApiKeyPrincipal
from core.api.filtering import FilterBackend
from core.api.lists import ValuesListMixin
from core.api.pagination import IdCursorPagination
from core.api.schema import ErrorSerializer, LinliAutoSchema
from core.api.views import ScopedWriteViewSet, public_api

from .. import services
from ..apps import ISSUES_READ, ISSUES_WRITE
from ..models import Category, EventKind, Issue, IssueEvent, Source
from ..selectors import timeline_for
from . import filters, serializers
from .board import register as register_board


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


TRANSITION_409 = OpenApiResponse(
    ErrorSerializer,
    description="The report's status does not allow this move (`code`: transition); "
    "`message` says why.",
)
DUPLICATE_409 = OpenApiResponse(
    ErrorSerializer,
    description="A report with this `external_id` was already sent (`code`: duplicate).",
)


class NewestFirstPagination(IdCursorPagination):
    """Cursor pages on ``-id``: newest first, stable while reports come in."""

    ordering = "-id"


def _is_key(request) -> bool:
    return isinstance(request.user, ApiKeyPrincipal)


def is_handler(request) -> bool:
    """Signed-in staff who found the report in their scope, or a key that may write."""
    return request.user.has_scope(ISSUES_WRITE) if _is_key(request) else True


def _error_code(exc: DjangoValidationError) -> str | None:
    if hasattr(exc, "error_dict"):
        return None
    errors = getattr(exc, "error_list", [exc])
    return errors[0].code if errors else None


def call_service(service, **kwargs):
    """Run a workflow service; a refused transition becomes a 409 with its message."""
    try:
        return service(**kwargs)
    except DjangoValidationError as exc:
        if _error_code(exc) == "transition":
            raise Conflict(" ".join(exc.messages), code="transition") from None
        raise


def _move_schema(request, description):
    return extend_schema(
        request=request,
        responses={200: serializers.IssueDetailSerializer, 409: TRANSITION_409},
        description=description,
    )


@extend_schema(tags=["issues"])
@extend_schema_view(
    list=extend_schema(description="Reports in the caller's jurisdiction, newest first."),
    retrieve=extend_schema(
        description="One report with its attributes, photos and timeline (internal steps "
        "and contact fields for handlers only)."
    ),
)
class ReportViewSet(ScopedWriteViewSet):
    """Reports (报事): what residents, staff and systems reported, and what became of it."""

    scope_permission = HANDLE_ISSUES
    read_scope = ISSUES_READ
    write_scope = ISSUES_WRITE
    http_method_names = ["get", "post", "head", "options"]
    serializer_class = serializers.IssueDetailSerializer
    filterset_class = filters.IssueFilter
    pagination_class = NewestFirstPagination
    # ?ordering=id: oldest first (a client catching up); the cursor needs a unique key
    filter_backends = [FilterBackend, OrderingFilter]
    ordering_fields = ["id"]
    ordering = "-id"
    parser_classes = [JSONParser]  # the photo upload alone is multipart

    def get_serializer_class(self):
        if self.action == "list":
            return serializers.IssueListSerializer
        if self.action == "create":
            return serializers.IssueCreateSerializer
        return self.serializer_class

    def safely_get_queryset(self):
        queryset = Issue.objects.select_related(
            "category", "property_company", "department", "neighbourhood"
        )
        if self.action == "list":
            # names for the page's rows only (joins), read as plain values
            return queryset.annotate(**serializers.list_annotations())
        return queryset.prefetch_related("photos")

    # --- reading ---------------------------------------------------------------------

    def _detail(self, issue, status_code=status.HTTP_200_OK):
        handler = is_handler(self.request)
        context = {
            **self.get_serializer_context(),
            "handler": handler,
            "timeline": timeline_for(issue=issue, staff=handler),
        }
        data = serializers.IssueDetailSerializer(issue, context=context).data
        return Response(data, status=status_code)

    def _fresh(self, issue):
        return self.get_queryset().get(pk=issue.pk)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    # --- creating --------------------------------------------------------------------

    @extend_schema(
        request=serializers.IssueCreateSerializer,
        responses={201: serializers.IssueDetailSerializer, 409: DUPLICATE_409},
    )
    def create(self, request, *args, **kwargs):
        """Report an issue (source ``api``) on a building, an estate, or a neighbourhood
        and an address, in the caller's jurisdiction."""
        body = serializers.IssueCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        places = self._places(data)
        category = data.pop("category")
        attributes = self._attributes(category, data.pop("attributes"))
        external_id = data.pop("external_id").strip()
        if (
            external_id
            and Issue.objects.filter(source=Source.API, external_id=external_id).exists()
        ):
            raise self._duplicate(external_id)
        key = request.user.api_key if _is_key(request) else None
        try:
            issue = services.issue_create(
                category=category,
                source=Source.API,
                entered_by=None if key else request.user,
                api_key=key,
                attributes=attributes,
                external_id=external_id,
                **places,
                **data,
            )
        except IntegrityError:  # the same external id, sent twice at once
            raise self._duplicate(external_id) from None
        return self._detail(self._fresh(issue), status.HTTP_201_CREATED)

    def _duplicate(self, external_id):
        return Conflict(
            _("A report with the external id “%(id)s” was already sent.") % {"id": external_id},
            code="duplicate",
        )

    def _places(self, data) -> dict:
        """The building, estate or neighbourhood named, looked up in the caller's scope."""
        scope = self.get_scope()
        building_id = data.pop("building", None)
        estate_id = data.pop("estate", None)
        neighbourhood_id = data.pop("neighbourhood", None)
        missing = _("Not found among the places you handle.")
        if building_id:
            building = (
                scope.filter(Building.objects.select_related("estate__neighbourhood"))
                .filter(pk=building_id)
                .first()
            )
            if building is None:
                raise exceptions.ValidationError({"building": [missing]})
            estate = building.estate
            return {"building": building, "estate": estate, "neighbourhood": estate.neighbourhood}
        if estate_id:
            estate = (
                scope.filter(Estate.objects.select_related("neighbourhood"))
                .filter(pk=estate_id)
                .first()
            )
            if estate is None:
                raise exceptions.ValidationError({"estate": [missing]})
            return {"estate": estate, "neighbourhood": estate.neighbourhood}
        neighbourhood = (
            scope.filter(Neighbourhood.objects.all()).filter(pk=neighbourhood_id).first()
        )
        if neighbourhood is None:
            raise exceptions.ValidationError({"neighbourhood": [missing]})
        return {"neighbourhood": neighbourhood}

    def _attributes(self, category, raw) -> dict:
        """The category's attributes checked; errors as ``attributes.<code>`` fields."""
        try:
            return services.clean_attributes(category=category, raw=raw)
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise exceptions.ValidationError(
                    {f"attributes.{code}": messages for code, messages in exc.message_dict.items()}
                ) from None
            raise exceptions.ValidationError({"attributes": exc.messages}) from None

    # --- the handlers' moves ---------------------------------------------------------

    def _move(self, request, body_class, service, **fields):
        issue = self.get_object()
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        call_service(service, issue=issue, actor=request.user, **fields, **body.validated_data)
        return self._detail(self._fresh(issue))

    @_move_schema(serializers.NoteSerializer, "Acknowledge a submitted report (受理).")
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._move(request, serializers.NoteSerializer, services.issue_acknowledge)

    @_move_schema(serializers.CommitSerializer, "Commit to a date for the work (承诺制).")
    @action(detail=True, methods=["post"])
    def commit(self, request, pk=None):
        return self._move(request, serializers.CommitSerializer, services.issue_commit)

    @_move_schema(serializers.ProgressSerializer, "Post a public update on the work.")
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None):
        return self._move(request, serializers.ProgressSerializer, services.issue_progress)

    @_move_schema(serializers.ResolveSerializer, "Mark the report resolved, with a note.")
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._move(request, serializers.ResolveSerializer, services.issue_resolve)

    @_move_schema(serializers.ReasonSerializer, "Reject the report, with a reason.")
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._move(request, serializers.ReasonSerializer, services.issue_reject)

    @_move_schema(serializers.MergeSerializer, "Merge the report into another one it duplicates.")
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        issue = self.get_object()
        body = serializers.MergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        into = self.get_queryset().filter(pk=body.validated_data["into"]).first()
        if into is None or into.pk == issue.pk:
            raise exceptions.ValidationError({"into": [_("Name another report you handle.")]})
        call_service(
            services.issue_merge,
            issue=issue,
            actor=request.user,
            into=into,
            reason=body.validated_data["reason"],
        )
        return self._detail(self._fresh(issue))

    # --- the reporter's moves --------------------------------------------------------

    def _reported(self, request, pk):
        """The signed-in reporter's own report (404 for anyone else)."""
        if _is_key(request):
            raise exceptions.PermissionDenied(
                _("Only the reporter, signed in, can confirm or reopen a report."),
                code="reporter_only",
            )
        return get_object_or_404(
            Issue.objects.select_related(
                "category", "property_company", "department", "neighbourhood"
            ).prefetch_related("photos"),
            pk=pk,
            reporter=request.user,
        )

    def _reporter_move(self, request, pk, body_class, service, **rename):
        issue = self._reported(request, pk)
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        data = {rename.get(k, k): v for k, v in body.validated_data.items()}
        call_service(service, issue=issue, actor=request.user, **data)
        issue.refresh_from_db()
        return self._detail_for_reporter(issue)

    def _detail_for_reporter(self, issue):
        context = {
            **self.get_serializer_context(),
            "handler": False,
            "timeline": timeline_for(issue=issue, staff=False),
        }
        return Response(serializers.IssueDetailSerializer(issue, context=context).data)

    @_move_schema(
        serializers.ConfirmSerializer, "The reporter confirms the resolution and rates it (1-5)."
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._reporter_move(
            request, pk, serializers.ConfirmSerializer, services.issue_confirm
        )

    @_move_schema(serializers.ReasonSerializer, "The reporter reopens a resolved report.")
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._reporter_move(request, pk, serializers.ReasonSerializer, services.issue_reopen)

    # --- comments and photos ---------------------------------------------------------

    @extend_schema(
        methods=["GET"],
        responses=serializers.CommentSerializer(many=True),
        description="The report's comments, oldest first (internal notes for handlers).",
    )
    @extend_schema(
        methods=["POST"],
        request=serializers.CommentCreateSerializer,
        responses={201: serializers.CommentSerializer},
        description="Comment on the report; `internal: true` writes an internal note.",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def comments(self, request, pk=None):
        issue = self.get_object()
        handler = is_handler(request)
        if request.method == "POST":
            body = serializers.CommentCreateSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            event = services.issue_comment(
                issue=issue,
                actor=request.user,
                text=body.validated_data["text"],
                internal=body.validated_data["internal"],
            )
            return Response(
                serializers.CommentSerializer(event).data, status=status.HTTP_201_CREATED
            )
        events = IssueEvent.objects.filter(
            issue=issue, kind__in=(EventKind.COMMENT, EventKind.NOTE)
        ).order_by("created_at", "id")
        if not handler:
            events = events.filter(public=True)
        return Response(serializers.CommentSerializer(events, many=True).data)

    @extend_schema(
        request={"multipart/form-data": serializers.PhotoUploadSerializer},
        responses={201: serializers.PhotoSerializer},
        description="Add one photo (JPEG, PNG or WebP) to the report; at most 9 per report.",
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def photos(self, request, pk=None):
        issue = self.get_object()
        body = serializers.PhotoUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            photo = services.photo_add(
                issue=issue, actor=request.user, upload=body.validated_data["image"]
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"image": exc.messages}) from None
        data = serializers.PhotoSerializer(photo, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)


@public_api
@extend_schema(tags=["issues"])
class ReportCategoryViewSet(ValuesListMixin, viewsets.ReadOnlyModelViewSet):
    """Report categories (Open311 services) and the questions each asks."""

    read_scope = ISSUES_READ
    schema = LinliAutoSchema()
    serializer_class = serializers.CategorySerializer
    lookup_field = "code"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    filter_backends = []

    def get_queryset(self):
        return Category.objects.filter(active=True).prefetch_related("attributes")


ROUTES = [
    ("reports", ReportViewSet, "report"),
    ("report-categories", ReportCategoryViewSet, "report-category"),
]


def register(router) -> None:
    """Add the report endpoints to the /api/v1/ router."""
    for prefix, viewset, basename in ROUTES:
        router.register(prefix, viewset, basename=basename)
    register_board(router)
