"""Course authoring pages, outside the Django admin: coordinators of a course's owner institution
and DPS staff create courses, edit their language versions, modules and lessons, and plan runs
with sessions and instructors. Plain forms that work without JavaScript; thin views over
courses.services (which checks every permission again)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from courses import selectors, services
from courses.forms import (
    CourseForm,
    InstructorForm,
    LessonForm,
    ModuleForm,
    RunForm,
    SessionForm,
)
from courses.models import Course, CourseRun, Lesson, Module
from courses.views import _page, _run, _submit
from lms.accounts.permissions import get_scope, has_perm, require_perm
from lms.ids import as_id
from lms.input_guard import refusal


def _authoring_course(request: HttpRequest, code: str, **_ids: Any) -> Course:
    return get_object_or_404(
        Course.objects.select_related("owner_institution", "current_version"), code=code
    )


def _may_author_some(request: HttpRequest) -> None:
    scope = get_scope(request.user)
    if not (scope.is_dps or scope.coordinated_paths):
        raise PermissionDenied(_("Only coordinators and DPS staff edit courses."))


def _form_page(
    request: HttpRequest, template: str, context: dict[str, Any], form: Any
) -> HttpResponse:
    return render(request, template, {**context, "form": form}, status=400 if form.errors else 200)


def _frozen(request: HttpRequest, course: Course, exc: services.VersionFrozen) -> HttpResponse:
    """A frozen version is read-only: say so, and offer an editable version."""
    return render(
        request,
        "courses/author/frozen.html",
        {"course": course, "reason": " ".join(exc.messages)},
        status=409,
    )


@require_perm("accounts.manage_institution")
def index(request: HttpRequest) -> HttpResponse:
    """The courses the person may edit."""
    _may_author_some(request)
    page = _page(request, selectors.authorable_courses(user=request.user))
    return render(request, "courses/author/index.html", {"page_obj": page})


@require_perm("accounts.manage_institution")
def new_course(request: HttpRequest) -> HttpResponse:
    """Create a course (with an empty first version) for an institution one coordinates."""
    _may_author_some(request)
    institutions = selectors.coordinated_institutions(user=request.user)
    form = CourseForm(request.POST or None, institutions=institutions)
    done = _submit(
        request, form,
        lambda: services.create_course(
            actor=request.user, code=form.cleaned_data["code"], **form.course_fields()
        ),
        _("The course is created; add its modules and lessons."),
        lambda course: redirect("courses:author_course", code=course.code),
    )  # fmt: skip
    if done is not None:
        return done
    return _form_page(request, "courses/author/course.html", {"course": None}, form)


@require_perm("courses.author_course", _authoring_course)
def edit_course(request: HttpRequest, code: str) -> HttpResponse:
    """A course's fields and language versions, its content (current version) and its runs."""
    course: Course = request.permission_object  # type: ignore[attr-defined]
    form = CourseForm(
        request.POST or None,
        institutions=selectors.coordinated_institutions(user=request.user),
        editing=True,
        values={"title": course.title, "description": course.description,
                "outcomes": course.learning_outcomes},
        initial={"code": course.code, "credit_hours": course.credit_hours,
                 "default_language": course.default_language, "languages": course.language_list,
                 "owner_institution": course.owner_institution_id,
                 "is_published": course.is_published},
    )  # fmt: skip
    done = _submit(
        request, form,
        lambda: services.update_course(actor=request.user, course=course, **form.course_fields()),
        _("The course is saved."),
        lambda _course: redirect("courses:author_course", code=course.code),
    )  # fmt: skip
    if done is not None:
        return done
    return _form_page(
        request,
        "courses/author/course.html",
        {
            "course": course,
            "version": course.current_version,
            "modules": selectors.version_content(version_id=course.current_version_id),
            "runs": course.runs.select_related("host_institution").order_by("-starts_on", "code")[
                :50
            ],
        },
        form,
    )


@require_perm("courses.author_course", _authoring_course)
@require_POST
def make_editable(request: HttpRequest, code: str) -> HttpResponse:
    """Make an editable version of a frozen course (enrolled learners keep theirs)."""
    course: Course = request.permission_object  # type: ignore[attr-defined]
    version = services.editable_version(course=course, actor=request.user)
    messages.success(
        request, _("Version %(number)s is ready to edit.") % {"number": version.number}
    )
    return redirect("courses:author_course", code=course.code)


@require_perm("courses.author_course", _authoring_course)
def module(request: HttpRequest, code: str, module_id: int | None = None) -> HttpResponse:
    """Add a module to the current version, or rename one."""
    course: Course = request.permission_object  # type: ignore[attr-defined]
    item = get_object_or_404(Module, pk=module_id, version__course=course) if module_id else None
    try:
        services.check_editable(course=course, item=item)
    except services.VersionFrozen as exc:
        return _frozen(request, course, exc)
    form = ModuleForm(request.POST or None, values={"title": item.title} if item else None)
    try:
        done = _submit(
            request, form,
            lambda: services.save_module(
                actor=request.user, course=course, module=item, title=form.translations("title")
            ),
            _("The module is saved."),
            lambda _module: redirect("courses:author_course", code=course.code),
        )  # fmt: skip
    except services.VersionFrozen as exc:
        return _frozen(request, course, exc)
    except services.AlreadyCreated:  # the same form sent again (a double click, a retry)
        messages.info(request, _("This module was already created."))
        return redirect("courses:author_course", code=course.code)
    if done is not None:
        return done
    return _form_page(
        request, "courses/author/module.html", {"course": course, "module": item}, form
    )


@require_perm("courses.author_course", _authoring_course)
def lesson(request: HttpRequest, code: str, lesson_id: int | None = None) -> HttpResponse:
    """Add a lesson to a module of the current version, or change one."""
    course: Course = request.permission_object  # type: ignore[attr-defined]
    item = get_object_or_404(Lesson, pk=lesson_id, version__course=course) if lesson_id else None
    module_id = item.module_id if item else request.POST.get("module") or request.GET.get("module")
    if isinstance(module_id, str) and as_id(module_id) is None:
        # "abc", "²" (a digit to str.isdigit(), not to int()), or more digits than an id has.
        return refusal(
            request,
            "module",
            _("Module: “%(value)s” is not a module of this course.") % {"value": module_id[:40]},
        )
    parent = get_object_or_404(Module, pk=module_id or 0, version__course=course)
    try:
        services.check_editable(course=course, item=item or parent)
    except services.VersionFrozen as exc:
        return _frozen(request, course, exc)
    values = (
        {"title": item.title, "body": item.body, "transcript": item.transcript} if item else None
    )
    initial = (
        {name: getattr(item, name) for name in ("kind", "is_required", "estimated_minutes",
                                                 "video_url", "launch_url", "activity_id")}
        if item
        else {}
    )  # fmt: skip
    form = LessonForm(
        request.POST or None, request.FILES or None, lesson=item, values=values, initial=initial
    )
    try:
        done = _submit(
            request, form,
            lambda: services.save_lesson(
                actor=request.user, course=course, lesson=item, module=parent,
                **form.lesson_fields(),
            ),
            _("The lesson is saved."),
            lambda _lesson: redirect("courses:author_course", code=course.code),
        )  # fmt: skip
    except services.VersionFrozen as exc:
        return _frozen(request, course, exc)
    if done is not None:
        return done
    return _form_page(
        request,
        "courses/author/lesson.html",
        {
            "course": course,
            "lesson": item,
            "module": parent,
            "module_hidden": [("module", parent.pk)],
        },
        form,
    )


@require_perm("courses.author_course", _authoring_course)
@require_POST
def move(request: HttpRequest, code: str, kind: str, pk: int) -> HttpResponse:
    """Move a module, or a lesson within its module, one place up or down."""
    course: Course = request.permission_object  # type: ignore[attr-defined]
    item: Module | Lesson = (
        get_object_or_404(Module, pk=pk, version__course=course)
        if kind == "module"
        else get_object_or_404(Lesson, pk=pk, version__course=course)
    )
    try:
        services.move(
            actor=request.user,
            course=course,
            item=item,
            direction=request.POST.get("direction", ""),
        )
    except services.VersionFrozen as exc:
        return _frozen(request, course, exc)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("courses:author_course", code=course.code)


@require_perm("courses.author_course", _authoring_course)
def new_run(request: HttpRequest, code: str) -> HttpResponse:
    """Plan a run of the course's current version, with its instructors."""
    course: Course = request.permission_object  # type: ignore[attr-defined]
    form = RunForm(
        request.POST or None,
        course=course,
        institutions=selectors.coordinated_institutions(user=request.user),
        instructors=selectors.assignable_instructors(user=request.user),
    )

    def plan() -> CourseRun:
        data = dict(form.cleaned_data)
        instructors = data.pop("instructors")
        return services.create_run(
            actor=request.user, course=course, instructors=instructors, **data
        )

    try:
        done = _submit(
            request, form, plan, _("The run is planned; add its sessions."),
            lambda run: redirect("courses:author_run", run_code=run.code),
        )  # fmt: skip
    except services.VersionFrozen as exc:
        return _frozen(request, course, exc)
    if done is not None:
        return done
    return _form_page(request, "courses/author/run_form.html", {"course": course}, form)


@require_perm("courses.manage_run", _run)
def run(request: HttpRequest, run_code: str) -> HttpResponse:
    """A run's schedule: its sessions, and a form to add one; its instructors, and (for those
    who coordinate it, not a replicated run's own trainer) a form to assign one."""
    current: CourseRun = request.permission_object  # type: ignore[attr-defined]
    posted = request.POST if request.method == "POST" else None
    assigns = has_perm(request.user, "courses.coordinate_run", current)
    adding_instructor = assigns and posted is not None and "instructor-user" in posted
    form = SessionForm(None if adding_instructor else posted)
    instructor_form = InstructorForm(
        posted if adding_instructor else None,
        instructors=selectors.assignable_instructors(user=request.user),
    )
    done = _submit(
        request, instructor_form,
        lambda: services.assign_instructor(
            actor=request.user, run=current, **instructor_form.cleaned_data
        ),
        _("The instructor is assigned."),
        lambda _assignment: redirect("courses:author_run", run_code=current.code),
    )  # fmt: skip
    if done is not None:
        return done

    def add() -> Any:
        data = dict(form.cleaned_data)
        title = {current.language: data.pop("title")}
        return services.add_session(actor=request.user, run=current, title=title, **data)

    try:
        done = _submit(
            request, form, add, _("The session is added."),
            lambda _session: redirect("courses:author_run", run_code=current.code),
        )  # fmt: skip
    except services.AlreadyCreated:  # the same form sent again (a double click, a retry)
        messages.info(request, _("This session was already created."))
        return redirect("courses:author_run", run_code=current.code)
    if done is not None:
        return done
    return render(
        request,
        "courses/author/run.html",
        {
            "run": current,
            "form": form,
            "sessions": current.sessions.order_by("starts_at"),
            "instructor_form": instructor_form if assigns else None,
            "instructors": current.run_instructors.select_related("user").order_by(
                "user__full_name"
            ),
        },
        status=400 if form.errors or instructor_form.errors else 200,
    )
