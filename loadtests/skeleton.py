"""A course whose first lesson is an assessment, and its run: the exam of the assessments
benchmark and the essay assignment of the load test's instructors are built on it."""

from __future__ import annotations

from typing import Any


def assessment_run(
    *,
    course_code: str,
    run_code: str,
    title: dict[str, str],
    lesson_title: dict[str, str],
    kind: str,
    time_limit_minutes: int | None,
    published: bool,
    reading: bool = False,
) -> tuple[Any, Any, bool]:
    """(run, assessment, made): the run `run_code` of a course of one module whose first lesson
    is an assessment of `kind` (with `reading`, a text lesson after it). Made on first use, when
    `made` is True and the caller adds the questions and the assessment's sections."""
    from assessments.models import Assessment
    from courses.models import Course, CourseRun, CourseVersion, Lesson, Module

    run = CourseRun.objects.filter(code=run_code).select_related("course", "version").first()
    made = run is None
    if run is None:
        course, _created = Course.objects.get_or_create(
            code=course_code, defaults={"title": title, "is_published": published}
        )
        version = CourseVersion.objects.create(course=course, number=course.versions.count() + 1)
        module = Module.objects.create(version=version, position=1, title=lesson_title)
        lesson = Lesson.objects.create(
            version=version, module=module, position=1, kind=Lesson.Kind.ASSESSMENT,
            title=lesson_title,
        )  # fmt: skip
        if reading:
            Lesson.objects.create(
                version=version, module=module, position=2, kind=Lesson.Kind.TEXT,
                title={"en": "Reading"}, body={"en": "<p>Reading.</p>"},
            )  # fmt: skip
        course.current_version = version
        course.save(update_fields=["current_version"])
        Assessment.objects.create(
            lesson=lesson, kind=kind, time_limit_minutes=time_limit_minutes, max_attempts=None
        )
        run = CourseRun.objects.create(course=course, version=version, code=run_code)
    assessment = Assessment.objects.get(lesson__version_id=run.version_id)
    return run, assessment, made
