"""Course authoring in the admin: programs, courses, versions with their modules and lessons,
runs with instructors and sessions. A frozen version (started or accredited) is read-only here:
the "make an editable version" action copies it into a new one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from courses import services
from courses.content import clean_html
from courses.models import (
    Course,
    CourseRun,
    CourseVersion,
    Enrollment,
    EnrollmentEvent,
    Lesson,
    Module,
    Program,
    ProgramCourse,
    RunInstructor,
    Session,
    SupervisionObservation,
    TrainerQualification,
)


class ProgramCourseInline(admin.TabularInline):
    model = ProgramCourse
    extra = 0
    raw_id_fields = ["course"]


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["code", "__str__", "ordered", "is_active"]
    search_fields = ["code"]
    filter_horizontal = ["donors"]
    inlines = [ProgramCourseInline]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["code", "__str__", "owner_institution", "current_version", "is_published"]
    list_filter = ["is_published", "default_language"]
    search_fields = ["code"]
    raw_id_fields = ["owner_institution", "current_version"]
    actions = ["make_editable_version"]

    @admin.action(description=_("Make an editable version"))
    def make_editable_version(self, request: HttpRequest, queryset: QuerySet[Course]) -> None:
        for course in queryset:
            version = services.editable_version(course=course, actor=request.user)
            self.message_user(request, f"{course.code}: v{version.number}", messages.SUCCESS)


class FrozenReadOnly:
    """Edits of a frozen version are refused: make a new version instead."""

    def _frozen(self, obj: Any) -> bool:
        version = obj if isinstance(obj, CourseVersion) else getattr(obj, "version", None)
        return bool(version and version.is_frozen)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and self._frozen(obj):
            return False
        return super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and self._frozen(obj):
            return False
        return super().has_delete_permission(request, obj)  # type: ignore[misc]


class ModuleInline(FrozenReadOnly, admin.TabularInline):
    model = Module
    extra = 0


@admin.register(CourseVersion)
class CourseVersionAdmin(FrozenReadOnly, admin.ModelAdmin):
    list_display = ["__str__", "is_frozen", "min_attendance_pct", "created_at"]
    list_filter = ["is_frozen"]
    raw_id_fields = ["course", "created_by"]
    inlines = [ModuleInline]


class LessonForm(forms.ModelForm):
    class Meta:
        model = Lesson
        fields = [
            "version", "module", "position", "kind", "title", "body", "video_file", "video_url",
            "captions", "transcript", "document", "launch_url", "activity_id", "is_required",
            "requires_pass", "estimated_minutes",
        ]  # fmt: skip

    def clean_body(self) -> dict[str, str]:
        body = self.cleaned_data.get("body") or {}
        return {lang: clean_html(str(html)) for lang, html in body.items()}


class LessonInline(FrozenReadOnly, admin.StackedInline):
    model = Lesson
    form = LessonForm
    extra = 0
    fk_name = "module"
    exclude = ["version"]


@admin.register(Module)
class ModuleAdmin(FrozenReadOnly, admin.ModelAdmin):
    list_display = ["__str__", "version", "position"]
    raw_id_fields = ["version"]
    inlines = [LessonInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for lesson in formset.save(commit=False):
            lesson.version_id = form.instance.version_id
            lesson.save()
        for obj in formset.deleted_objects:
            obj.delete()


@admin.register(Lesson)
class LessonAdmin(FrozenReadOnly, admin.ModelAdmin):
    form = LessonForm
    list_display = ["__str__", "kind", "version", "is_required", "requires_pass"]
    list_filter = ["kind", "requires_pass"]
    raw_id_fields = ["version", "module"]


class RunInstructorInline(admin.TabularInline):
    model = RunInstructor
    extra = 0
    raw_id_fields = ["user"]


class SessionInline(admin.TabularInline):
    model = Session
    extra = 0


@admin.register(CourseRun)
class CourseRunAdmin(admin.ModelAdmin):
    list_display = ["code", "course", "mode", "status", "capacity", "active_count",
                    "waitlist_count", "completed_count"]  # fmt: skip
    list_filter = ["mode", "status", "language"]
    search_fields = ["code", "course__code"]
    raw_id_fields = ["course", "version", "host_institution", "replicated_from", "supervisor"]
    readonly_fields = ["active_count", "waitlist_count", "completed_count"]
    inlines = [RunInstructorInline, SessionInline]


class EnrollmentEventInline(admin.TabularInline):
    model = EnrollmentEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "at", "note"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    """Read-mostly: enrolments change through the services (pages, API), which keep counters."""

    list_display = ["user", "run", "status", "progress_pct", "attendance_pct", "enrolled_at"]
    list_filter = ["status"]
    search_fields = ["user__email", "run__code"]
    raw_id_fields = ["user", "run", "version", "enrolled_by", "last_lesson", "institution"]
    readonly_fields = ["status", "progress_pct", "attendance_pct", "score_pct", "passed",
                       "registration", "completed_at", "waitlist_position"]  # fmt: skip
    inlines = [EnrollmentEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(TrainerQualification)
class TrainerQualificationAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "qualified_by_run", "qualified_at"]
    raw_id_fields = ["user", "course", "qualified_by_run"]


@admin.register(SupervisionObservation)
class SupervisionObservationAdmin(admin.ModelAdmin):
    list_display = ["run", "trainer", "supervisor", "rating", "observed_at"]
    raw_id_fields = ["run", "trainer", "supervisor", "session"]
