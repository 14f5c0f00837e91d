"""Fixtures of the courses tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from courses.models import Course, CourseVersion, Module
from tests.courses.factories import CourseFactory


@pytest.fixture(autouse=True)
def _fresh_catalogue_cache() -> None:
    """The catalogue caches its results for a minute (in Redis and in the process): each test
    starts without them."""
    from courses.caching import clear_local

    cache.clear()
    clear_local()


@pytest.fixture
def course(institution: Any) -> Course:
    """A course of `institution` with an editable version holding one module."""
    course = CourseFactory(owner_institution=institution, languages="es en")
    version = CourseVersion.objects.create(course=course, number=1)
    Module.objects.create(version=version, position=1, title={"es": "Módulo 1"})
    course.current_version = version
    course.save()
    return course


@pytest.fixture
def ttt(institution: Any) -> dict[str, Any]:
    """A run that qualifies trainers, its lead instructor (an expert who may supervise) and a
    trainer of `institution` it qualified."""
    from courses.models import RunInstructor, TrainerQualification
    from tests.courses.factories import RunFactory
    from tests.factories import UserFactory

    source = RunFactory(qualifies_trainers=True)
    expert = UserFactory(full_name="Expert Eligible")
    RunInstructor.objects.create(run=source, user=expert, role=RunInstructor.Role.LEAD)
    trainer = UserFactory(institution=institution, full_name="Tina Trainer")
    TrainerQualification.objects.create(user=trainer, course=source.course, qualified_by_run=source)
    return {"source": source, "expert": expert, "trainer": trainer}
