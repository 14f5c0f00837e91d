"""REST API of the courses app: the catalogue, enrolments and progress, scoped as the pages are,
so that an institution's HR system can enrol its officers and read their results."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from courses import selectors, services
from courses.models import Course, CourseRun, Enrollment, LessonProgress
from lms.accounts.models import User
from lms.i18n import pick


class RunSerializer(serializers.ModelSerializer):
    member_state: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
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


class CatalogueView(generics.ListAPIView):
    """Published courses with open runs; filters: q, language, mode, member_state, program."""

    serializer_class = CourseSerializer
    permission_classes = [AllowAny]
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Course]:
        params = self.request.query_params
        return selectors.catalogue_courses(
            query=params.get("q", "")[:100],
            language=params.get("language", "")[:2],
            mode=params.get("mode", "")[:10],
            member_state=params.get("member_state", "")[:2],
            program=params.get("program", "")[:40],
        )


class EnrollmentSerializer(serializers.ModelSerializer):
    run = serializers.SlugRelatedField(slug_field="code", queryset=CourseRun.objects.all())
    user = serializers.SlugRelatedField(
        slug_field="email", queryset=User.objects.all(), required=False
    )
    course = serializers.CharField(source="run.course.code", read_only=True)

    class Meta:
        model = Enrollment
        fields = ["registration", "user", "run", "course", "status", "enrolled_at",
                  "progress_pct", "attendance_pct", "score_pct", "passed", "completed_at"]  # fmt: skip
        read_only_fields = ["registration", "status", "enrolled_at", "progress_pct",
                            "attendance_pct", "score_pct", "passed", "completed_at"]  # fmt: skip


class EnrollmentListView(generics.ListCreateAPIView):
    """GET: your enrolments and those of the institutions you coordinate. POST {run, user?}:
    enrol yourself, or (coordinators) an officer of your institution, by email."""

    serializer_class = EnrollmentSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Enrollment]:
        rows = selectors.api_enrollments(user=self.request.user)
        run = self.request.query_params.get("run")
        return rows.filter(run__code=run) if run else rows

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data.get("user") or request.user
        try:
            enrollment = services.enrol(
                user=user, run=serializer.validated_data["run"], actor=request.user
            )
        except PermissionDenied as exc:
            return Response({"user": [str(exc)]}, status=status.HTTP_403_FORBIDDEN)
        except ValidationError as exc:
            return Response({"run": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(enrollment).data, status=status.HTTP_201_CREATED)


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


class ProgressView(generics.GenericAPIView):
    """The progress of one enrolment, lesson by lesson (same scope as the list)."""

    serializer_class = ProgressSerializer

    @extend_schema(responses=ProgressSerializer)
    def get(self, request: Request, registration: str) -> Response:
        enrollment = get_object_or_404(
            selectors.api_enrollments(user=request.user), registration=registration
        )
        lessons = LessonProgress.objects.filter(enrollment=enrollment).select_related("lesson")
        data = ProgressSerializer({"enrollment": enrollment, "lessons": lessons}).data
        return Response(data)
