"""Fixtures of the dashboards tests: a small network with two runs, learners in two
institutions, and helpers that drive the real courses services (receivers run on commit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from courses import services as courses
from courses.models import CourseRun, Enrollment, Lesson, Program, ProgramCourse
from tests.courses.factories import RunFactory, add_sessions, assign_instructor
from tests.factories import DonorFactory, RoleAssignmentFactory, UserFactory


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # The pages keep their figures in the (Redis) cache for a while; each test starts afresh.
    cache.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[[Callable[[], Any]], Any]:
    """Run a service and then what it scheduled on commit (the signals), as in production."""

    def run(action: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


@pytest.fixture
def network(institution: Any, other_institution: Any) -> dict[str, Any]:
    """Two runs (virtual; on-site replication with sessions), a program funded by a donor."""
    virtual = RunFactory(host_institution=institution, course__owner_institution=institution)
    onsite = RunFactory(
        host_institution=other_institution,
        mode=CourseRun.Mode.ONSITE,
        replicated_from=virtual,
    )
    add_sessions(onsite, 2)
    program = Program.objects.create(code="police-management", title={"en": "Police management"})
    ProgramCourse.objects.create(program=program, course=virtual.course, position=1)
    donor = DonorFactory()
    program.donors.add(donor)
    return {"virtual": virtual, "onsite": onsite, "program": program, "donor": donor}


@pytest.fixture
def officers(institution: Any, other_institution: Any) -> list[Any]:
    return [UserFactory(institution=institution), UserFactory(institution=institution)] + [
        UserFactory(institution=other_institution) for _ in range(2)
    ]


def enrol(user: Any, run: CourseRun) -> Enrollment:
    return courses.enrol(user=user, run=run, actor=user)


def finish(enrollment: Enrollment) -> None:
    """Complete every lesson of the enrolment's version (completes a virtual run)."""
    for lesson in Lesson.objects.filter(version_id=enrollment.version_id):
        courses.complete_lesson(enrollment=enrollment, lesson=lesson, actor=enrollment.user)


def finish_together(enrollments: list[Enrollment]) -> None:
    """Complete every lesson of enrolments of one version together, as a run's released grades
    do: their courses complete in one write and are announced together (courses_completed)."""
    for lesson in Lesson.objects.filter(version_id=enrollments[0].version_id):
        courses.record_lesson_results(
            [
                courses.LessonResult(
                    enrollment=enrollment, lesson=lesson, completed=True, actor=enrollment.user
                )
                for enrollment in enrollments
            ]
        )


@pytest.fixture
def donor_user(network: dict[str, Any]) -> Any:
    user = UserFactory()
    RoleAssignmentFactory(user=user, role="donor", donor=network["donor"])
    return user


@pytest.fixture
def run_instructor(network: dict[str, Any]) -> Iterator[Any]:
    user = UserFactory()
    RoleAssignmentFactory(
        user=user, role="instructor", institution=network["virtual"].host_institution
    )
    assign_instructor(network["virtual"], user)
    return user


@pytest.fixture
def without_certificate_issuance() -> Iterator[None]:
    """Page tests need completions, not the signed PDFs certification renders for each (seconds
    apiece); certificates are counted in test_aggregates.py with certification connected."""
    from certification import receivers
    from courses import signals

    signals.course_completed.disconnect(dispatch_uid="certification.course_completed")
    signals.courses_completed.disconnect(dispatch_uid="certification.courses_completed")
    try:
        yield
    finally:
        signals.course_completed.connect(
            receivers.on_course_completed, dispatch_uid="certification.course_completed"
        )
        signals.courses_completed.connect(
            receivers.on_courses_completed, dispatch_uid="certification.courses_completed"
        )


@pytest.fixture
def activity(network: dict[str, Any], officers: list[Any], committed: Any) -> dict[str, Any]:
    """One completion in the virtual run (institution) and one enrolment on site (other)."""
    done = committed(lambda: enrol(officers[0], network["virtual"]))
    committed(lambda: finish(done))
    onsite = committed(lambda: enrol(officers[2], network["onsite"]))
    return {"done": done, "onsite": onsite}
