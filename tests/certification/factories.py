"""Factories for the certification tests: courses, runs and completed enrolments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from courses.models import Course, CourseRun, CourseVersion, Enrollment


class CourseFactory(DjangoModelFactory):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"cert-course-{n}")
    title = factory.LazyFunction(
        lambda: {
            "en": "Strategic police management",
            "es": "Gestión policial estratégica",
            "fr": "Gestion policière stratégique",
            "pt": "Gestão policial estratégica",
        }
    )
    learning_outcomes = factory.LazyFunction(
        lambda: {"en": ["Plan operations", "Lead teams"], "es": ["Planificar", "Dirigir"]}
    )
    credit_hours = Decimal("40.0")
    is_published = True


class RunFactory(DjangoModelFactory):
    class Meta:
        model = CourseRun

    course = factory.SubFactory(CourseFactory)
    version = factory.LazyAttribute(
        lambda o: CourseVersion.objects.create(course=o.course, number=1)
    )
    code = factory.Sequence(lambda n: f"cert-run-{n}")
    mode = CourseRun.Mode.VIRTUAL


def completed(user: Any, run: CourseRun) -> Enrollment:
    """A completed enrolment (made directly: the completion rules belong to courses' tests)."""
    return Enrollment.objects.create(
        user=user,
        run=run,
        version=run.version,
        status=Enrollment.Status.COMPLETED,
        completed_at=timezone.now(),
        institution=user.institution,
        progress_pct=100,
    )
