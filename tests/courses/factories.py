"""Factories for the courses tests."""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from courses.models import (
    Course,
    CourseRun,
    CourseVersion,
    Enrollment,
    Lesson,
    Module,
    RunInstructor,
    Session,
)
from tests.factories import UserFactory


class CourseFactory(DjangoModelFactory):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"course-{n}")
    title = factory.LazyFunction(
        lambda: {"en": "Human rights in policing", "es": "Derechos humanos en la función policial"}
    )
    description = factory.LazyFunction(lambda: {"en": "Principles", "es": "Principios"})
    is_published = True


def make_version(course: Course, *, lessons: int = 3, **rules: Any) -> CourseVersion:
    """A version of `course` with one module of `lessons` text lessons; becomes current."""
    number = course.versions.count() + 1
    version = CourseVersion.objects.create(course=course, number=number, **rules)
    module = Module.objects.create(version=version, position=1, title={"en": "Module 1"})
    for position in range(1, lessons + 1):
        Lesson.objects.create(
            version=version,
            module=module,
            position=position,
            kind=Lesson.Kind.TEXT,
            title={"en": f"Lesson {position}", "es": f"Lección {position}"},
            body={"en": f"<p>Body {position}</p>", "es": f"<p>Contenido {position}</p>"},
        )
    course.current_version = version
    course.save(update_fields=["current_version"])
    return version


class RunFactory(DjangoModelFactory):
    class Meta:
        model = CourseRun

    course = factory.SubFactory(CourseFactory)
    version = factory.LazyAttribute(lambda o: o.course.current_version or make_version(o.course))
    code = factory.Sequence(lambda n: f"run-{n}")
    mode = CourseRun.Mode.VIRTUAL
    status = CourseRun.Status.OPEN
    language = "es"


def assign_instructor(run: CourseRun, user: Any | None = None) -> Any:
    user = user or UserFactory()
    RunInstructor.objects.create(run=run, user=user)
    return user


def add_sessions(run: CourseRun, count: int) -> list[Session]:
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now() - timedelta(days=count)  # all started: attendance may be taken
    return [
        Session.objects.create(
            run=run,
            title={"en": f"Session {i}"},
            starts_at=start + timedelta(days=i),
            ends_at=start + timedelta(days=i, hours=2),
            room="A1",
        )
        for i in range(count)
    ]


def enrol_in_text_course(user: Any, lessons: int = 3) -> tuple[Enrollment, list[int]]:
    """An active enrolment of `user` in a new run of a course of `lessons` text lessons, with the
    lesson ids in reading order."""
    course = CourseFactory()
    make_version(course, lessons=lessons)
    run = RunFactory(course=course)
    enrollment = Enrollment.objects.create(user=user, run=run, version=run.version)
    ids = list(
        Lesson.objects.filter(version=run.version).order_by("position").values_list("pk", flat=True)
    )
    return enrollment, ids
