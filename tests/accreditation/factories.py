"""Factories for the accreditation tests: a course with a version owned by an institution, and
requests in each state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from factory.django import DjangoModelFactory

from accreditation.models import AccreditationRequest
from courses.models import Course, CourseVersion
from tests.factories import InstitutionFactory, UniversityFactory


class CourseFactory(DjangoModelFactory):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"accr-course-{n}")
    title = factory.LazyFunction(
        lambda: {"en": "Human rights in policing", "es": "Derechos humanos en la función policial"}
    )
    owner_institution = factory.SubFactory(InstitutionFactory)
    is_published = True


class CourseVersionFactory(DjangoModelFactory):
    class Meta:
        model = CourseVersion

    course = factory.SubFactory(CourseFactory)
    number = factory.Sequence(lambda n: n + 1)
    contact_hours = Decimal("40")
    self_study_hours = Decimal("35")


class RequestFactory(DjangoModelFactory):
    class Meta:
        model = AccreditationRequest

    course_version = factory.SubFactory(CourseVersionFactory)
    university = factory.SubFactory(UniversityFactory)
    owner_institution = factory.LazyAttribute(lambda o: o.course_version.course.owner_institution)
    syllabus = factory.LazyFunction(
        lambda: [
            {
                "module": "Foundations",
                "sessions": [{"title": "International standards", "hours": "4"}],
            }
        ]
    )
    learning_outcomes = factory.LazyFunction(
        lambda: ["Applies the use-of-force principles in arrests"]
    )
    level = "5"
    contact_hours = Decimal("40")
    self_study_hours = Decimal("35")
    assessment_methods = "Written exam and a supervised practical exercise"
    passing_rules = "70% in the exam and 80% attendance"
    instructors = factory.LazyFunction(lambda: [{"name": "Ana Gil", "qualifications": "LLM"}])


def course_for(institution: Any) -> CourseVersion:
    """A version of a new course owned by `institution`."""
    return CourseVersionFactory(course=CourseFactory(owner_institution=institution))
