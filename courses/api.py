"""REST API of the courses app: the catalogue, enrolments and progress, scoped as the pages are,
so that an institution's HR system can enrol its officers and read their results."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.fields import empty
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from courses import selectors, services
from courses.models import Course, CourseRun, Enrollment, LessonProgress
from lms.accounts.permissions import has_perm
from lms.i18n import pick
from lms.rest import FIELD_ERRORS, NOT_FOUND, UNAUTHENTICATED, JSONParser, PersonLanguageMixin


class RunSerializer(serializers.ModelSerializer):
    # null: a virtual run open to every member state
    member_state: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )

    class Meta:
        model = CourseRun
        fields = ["code", "mode", "language", "member_state", "starts_on", "ends_on",
                  "capacity", "seats_left", "requires_approval", "self_enrolment"]  # fmt: skip


class CourseSerializer(serializers.ModelSerializer):
    title = serializers.SerializerMethodField()
    runs = RunSerializer(many=True, read_only=True, source="open_runs")

    class Meta:
        model = Course
        fields = ["code", "title", "credit_hours", "languages", "runs"]

    def get_title(self, course: Course) -> str:
        return str(pick(course.title, default=course.default_language))


class CatalogueFilters(serializers.Serializer):
    """The catalogue's filters, each optional; a value that cannot match is refused (400 naming
    the filter), not answered with an empty catalogue."""

    q = serializers.CharField(
        required=False, allow_blank=True, max_length=100, trim_whitespace=False,
        help_text="Words in a course's code, title or description, in any language.",
    )  # fmt: skip
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES], required=False, allow_blank=True,
        help_text="Courses with an open run delivered in this language.",
    )  # fmt: skip
    mode = serializers.ChoiceField(
        choices=CourseRun.Mode.values, required=False, allow_blank=True,
        help_text="Courses with an open run of this delivery mode.",
    )  # fmt: skip
    member_state = serializers.RegexField(
        r"^[A-Za-z]{2}$", required=False, allow_blank=True, trim_whitespace=False,
        help_text="ISO 3166 code: courses with an open run held there or open to every state.",
    )  # fmt: skip
    program = serializers.SlugField(
        required=False, allow_blank=True, max_length=40, trim_whitespace=False,
        help_text="The code of a program the course belongs to.",
    )  # fmt: skip


class CatalogueView(PersonLanguageMixin, generics.ListAPIView):
    """Published courses with open runs, each with those runs; no credentials needed."""

    serializer_class = CourseSerializer
    permission_classes = [AllowAny]
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[CatalogueFilters],
        responses={200: CourseSerializer(many=True), 400: FIELD_ERRORS, 401: UNAUTHENTICATED,
                   404: NOT_FOUND},
    )  # fmt: skip
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Course]:
        filters = CatalogueFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        return selectors.catalogue_courses(
            query=values.get("q", ""),
            language=values.get("language", ""),
            mode=values.get("mode", ""),
            member_state=values.get("member_state", "").upper(),
            program=values.get("program", ""),
        )


# Read only: POST reads EnrolmentRequestSerializer. (Docstrings of serializers and views are
# the schema's descriptions, read by the API's clients.)
class EnrollmentSerializer(serializers.ModelSerializer):
    """An enrolment: its run and course, its status and results."""

    run: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    user: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True
    )
    course = serializers.CharField(source="run.course.code", read_only=True)

    class Meta:
        model = Enrollment
        fields = ["registration", "user", "run", "course", "status", "enrolled_at",
                  "progress_pct", "attendance_pct", "score_pct", "passed", "completed_at"]  # fmt: skip
        read_only_fields = fields


# A plain serializer, not the model's: DRF would add the model's unique (user, run) check,
# making `user` required and answering a second enrolment with a technical message.
RUN_CODE_LENGTH = CourseRun._meta.get_field("code").max_length or 60


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": RUN_CODE_LENGTH,
        "example": "human-rights-virtual",
    }
)
class RunCodeField(serializers.SlugRelatedField):
    """A run by its code; anything but a string of a code's length is refused as such, without
    echoing it (a list was answered "Object with code=['a'] does not exist.")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="code", queryset=CourseRun.objects.all(), **kwargs)
        self.error_messages["does_not_exist"] = _("No course run has this code.")
        self.error_messages["invalid"] = _("Enter the code of a course run.")

    def run_validation(self, data: Any = empty) -> Any:
        # A related field takes an empty form value for null ("This field may not be null."):
        # an empty code is as much not a code as any other.
        if data == "":
            self.fail("invalid")
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not 0 < len(data) <= RUN_CODE_LENGTH:
            self.fail("invalid")
        return super().to_internal_value(data)


class EnrolmentRequestSerializer(serializers.Serializer):
    """An enrolment to make: the run's code, and the email of the officer to enrol (yourself
    when left out)."""

    run = RunCodeField()
    # An email, not a related field: looked up only among the officers the caller may enrol,
    # so that the answer tells nothing about other people's accounts.
    user = serializers.CharField(required=False, allow_blank=True, max_length=254)


def _person_to_enrol(*, actor: Any, email: str) -> Any:
    """Whom a POST enrols: the caller when `email` is blank or theirs, else the officer with
    that email among those the caller may enrol (as on the "enrol officers" page).

    The right to enrol others is checked before any look-up, and an email outside the caller's
    officers is refused as an unknown one: the API is no way to learn who has an account.
    """
    if not email or email.lower() == actor.email.lower():
        return actor
    if not has_perm(actor, "courses.enrol_officers", None):
        raise PermissionDenied(_("You may enrol only officers of your institution."))
    officer = selectors.officers_to_enrol(user=actor).filter(email__iexact=email).first()
    if officer is None:
        raise PermissionDenied(_("No officer you may enrol has this email."))
    return officer


def _refuse_second_enrolment(*, user: Any, run: CourseRun, actor: Any) -> None:
    """Refuse to enrol `user` in `run` again while an enrolment there stands: services.enrol
    would return it unchanged (it reopens only withdrawn and rejected ones), and an API client
    must not read that as a new enrolment."""
    if (
        Enrollment.objects.filter(user_id=user.pk, run_id=run.pk)
        .exclude(status__in=services.REOPENABLE)
        .exists()
    ):
        raise services.EnrolmentError(
            _("You are already enrolled in this run.")
            if user.pk == actor.pk
            else _("This officer is already enrolled in this run."),
            code="already_enrolled",
        )


class EnrollmentFilters(serializers.Serializer):
    """The enrolments' filter."""

    run = serializers.SlugField(
        required=False, allow_blank=True, max_length=RUN_CODE_LENGTH, trim_whitespace=False,
        help_text="Only the enrolments in the course run with this code.",
    )  # fmt: skip


class EnrollmentListView(PersonLanguageMixin, generics.ListAPIView):
    """GET: your enrolments and those of the institutions you coordinate. POST {run, user?}:
    enrol yourself, or an officer you may enrol, by email, in a run you manage (a coordinator
    of its host institution, DPS), as the run's enrol-officers page."""

    serializer_class = EnrollmentSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Enrollment]:
        rows = selectors.api_enrollments(user=self.request.user)
        filters = EnrollmentFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        run = filters.validated_data.get("run")
        return rows.filter(run__code=run) if run else rows

    @extend_schema(
        parameters=[EnrollmentFilters],
        responses={200: EnrollmentSerializer(many=True), 400: FIELD_ERRORS,
                   401: UNAUTHENTICATED, 404: NOT_FOUND},
    )  # fmt: skip
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=EnrolmentRequestSerializer,
        responses={
            201: EnrollmentSerializer,
            400: FIELD_ERRORS,
            401: UNAUTHENTICATED,
            403: OpenApiResponse(
                response=FIELD_ERRORS.response,
                description="Not allowed: the run is not one the caller manages (`run`), or "
                "the officer is not one they may enrol (`user`).",
            ),
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # the pages' enrolment service: approval, capacity and the waiting list apply alike
        data = EnrolmentRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = data.validated_data["run"]
        try:
            user = _person_to_enrol(actor=request.user, email=data.validated_data.get("user", ""))
            # enrol's own first check (the page's too), before anything is told about the run:
            # a run of a course the caller may not see is not found (Http404, in their
            # language: lms.rest), another person's enrolment needs courses.manage_run on it
            services.check_may_enrol(user=user, run=run, actor=request.user)
            _refuse_second_enrolment(user=user, run=run, actor=request.user)
            enrollment = services.enrol(user=user, run=run, actor=request.user)
        except services.RunNotManaged as exc:
            return Response({"run": [str(exc)]}, status=status.HTTP_403_FORBIDDEN)
        except PermissionDenied as exc:
            return Response({"user": [str(exc)]}, status=status.HTTP_403_FORBIDDEN)
        except ValidationError as exc:
            return Response({"run": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(EnrollmentSerializer(enrollment).data, status=status.HTTP_201_CREATED)


class LessonProgressSerializer(serializers.ModelSerializer):
    lesson = serializers.UUIDField(source="lesson.key")
    title = serializers.SerializerMethodField()

    class Meta:
        model = LessonProgress
        fields = ["lesson", "title", "status", "passed", "score_pct", "completed_at"]

    def get_title(self, progress: LessonProgress) -> str:
        return str(pick(progress.lesson.title))


class ProgressSerializer(serializers.Serializer):
    enrollment = EnrollmentSerializer()
    lessons = LessonProgressSerializer(many=True)


class ProgressView(PersonLanguageMixin, generics.GenericAPIView):
    """The progress of one enrolment, lesson by lesson (same scope as the list)."""

    serializer_class = ProgressSerializer

    @extend_schema(
        responses={200: ProgressSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    )
    def get(self, request: Request, registration: str) -> Response:
        # outside the scope: Http404, answered "Not found." in the caller's language (lms.rest)
        enrollment = get_object_or_404(
            selectors.api_enrollments(user=request.user), registration=registration
        )
        lessons = LessonProgress.objects.filter(enrollment=enrollment).select_related("lesson")
        data = ProgressSerializer({"enrollment": enrollment, "lessons": lessons}).data
        return Response(data)


# DRF's token endpoint, reading JSON with the platform's parser (a malformed body is told in
# the caller's language, not as the decoder's English message).
class TokenView(ObtainAuthToken):
    """A token for an account (its email and password), to send as
    `Authorization: Token <token>`. The same token each time, until the account's password
    changes; a suspended account's token is refused."""

    parser_classes = (FormParser, MultiPartParser, JSONParser)

    @extend_schema(
        auth=[],
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: FIELD_ERRORS,
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)
