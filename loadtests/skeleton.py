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
    from courses.models import CourseRun, Lesson

    run = CourseRun.objects.filter(code=run_code).select_related("course", "version").first()
    made = run is None
    if run is None:
        lessons: list[tuple[str, dict[str, str], dict[str, str] | None]] = [
            (Lesson.Kind.ASSESSMENT, lesson_title, None)
        ]
        if reading:
            lessons.append((Lesson.Kind.TEXT, {"en": "Reading"}, {"en": "<p>Reading.</p>"}))
        course, version = course_of_lessons(
            course_code=course_code, title=title, published=published, lessons=lessons
        )
        Assessment.objects.create(
            lesson=version.lessons.get(position=1), kind=kind,
            time_limit_minutes=time_limit_minutes, max_attempts=None,
        )  # fmt: skip
        run = CourseRun.objects.create(course=course, version=version, code=run_code)
    assessment = Assessment.objects.get(lesson__version_id=run.version_id)
    return run, assessment, made


def course_of_lessons(
    *,
    course_code: str,
    title: dict[str, str],
    published: bool,
    lessons: list[tuple[str, dict[str, str], dict[str, str] | None]],
) -> tuple[Any, Any]:
    """(course, version): the course `course_code` (made if new) with a new current version of
    one module holding `lessons`, each (kind, title, body or None), in that order."""
    from courses.models import Course, CourseVersion, Lesson, Module

    course, _created = Course.objects.get_or_create(
        code=course_code, defaults={"title": title, "is_published": published}
    )
    version = CourseVersion.objects.create(course=course, number=course.versions.count() + 1)
    module = Module.objects.create(version=version, position=1, title=lessons[0][1])
    for position, (kind, lesson_title, body) in enumerate(lessons, start=1):
        Lesson.objects.create(
            version=version, module=module, position=position, kind=kind, title=lesson_title,
            **({"body": body} if body is not None else {}),
        )  # fmt: skip
    course.current_version = version
    course.save(update_fields=["current_version"])
    return course, version
