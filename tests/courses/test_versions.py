"""Versions: editing a started course makes a new version; enrolments keep theirs."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from courses import services, signals
from courses.models import Lesson
from tests.courses.factories import CourseFactory, RunFactory, make_version

pytestmark = pytest.mark.django_db


def test_an_unstarted_version_is_edited_in_place(coordinator: Any, institution: Any) -> None:
    course = CourseFactory(owner_institution=institution)
    version = make_version(course)
    assert services.editable_version(course=course, actor=coordinator) == version


def test_editing_a_started_course_makes_a_new_version_and_pins_enrolments(
    learner: Any, coordinator: Any, institution: Any, django_capture_on_commit_callbacks: Any
) -> None:
    course = CourseFactory(owner_institution=institution)
    version = make_version(course, lessons=2)
    run = RunFactory(course=course, version=version)
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    created: list[tuple[int, int]] = []

    def listener(sender: Any, course: Any, version: Any, previous: Any, **kwargs: Any) -> None:
        created.append((version.pk, previous.pk))

    signals.course_version_created.connect(listener, dispatch_uid="test-version")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            new = services.editable_version(course=course, actor=coordinator)
    finally:
        signals.course_version_created.disconnect(dispatch_uid="test-version")
    assert new.pk != version.pk
    assert new.number == 2
    assert not new.is_frozen
    assert created == [(new.pk, version.pk)]
    old_keys = set(Lesson.objects.filter(version=version).values_list("key", flat=True))
    assert set(Lesson.objects.filter(version=new).values_list("key", flat=True)) == old_keys
    # The author changes the new version; the learner keeps what they started with.
    Lesson.objects.filter(version=new).first().delete()  # type: ignore[union-attr]
    enrollment.refresh_from_db()
    assert enrollment.version_id == version.pk
    assert Lesson.objects.filter(version=enrollment.version).count() == 2
    course.refresh_from_db()
    assert course.current_version_id == new.pk


def test_only_the_owner_may_edit_a_course(coordinator: Any, other_institution: Any) -> None:
    course = CourseFactory(owner_institution=other_institution)
    make_version(course)
    with pytest.raises(PermissionDenied):
        services.editable_version(course=course, actor=coordinator)
