"""Factories for the network's tests (course runs are made here minimally, from courses' models)."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from courses.models import Course, CourseRun, CourseVersion, Enrollment, RunInstructor
from tests.factories import UserFactory


class CourseFactory(DjangoModelFactory):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"community-course-{n}")
    title = factory.LazyFunction(lambda: {"en": "Community policing", "es": "Policía comunitaria"})
    is_published = True


class RunFactory(DjangoModelFactory):
    class Meta:
        model = CourseRun

    course = factory.SubFactory(CourseFactory)
    version = factory.LazyAttribute(
        lambda o: CourseVersion.objects.create(course=o.course, number=1)
    )
    code = factory.Sequence(lambda n: f"community-run-{n}")


def enrol(user: object, run: CourseRun) -> Enrollment:
    return Enrollment.objects.create(
        user=user, run=run, version=run.version, status=Enrollment.Status.ACTIVE
    )


def make_instructor(run: CourseRun) -> object:
    user = UserFactory()
    RunInstructor.objects.create(run=run, user=user)
    return user
