"""Item statistics over "all runs" aggregate only the runs the viewer may teach (QA: a
coordinator's `?scope=all` counted every run of the course, other institutions' included, and a
run of one attempt gave away that officer's score).

`scope=all` covers the runs of the assessment the viewer teaches (courses.teach_run, as one
query); those who author the course (a coordinator of its owner institution, DPS) get every run.
An aggregate of fewer than MIN_ATTEMPTS attempts shows no facility or discrimination.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from assessments import services
from assessments.models import Assessment, Question
from courses.models import CourseRun, Enrollment
from tests.assessments.factories import make_assessment, run_of
from tests.courses.factories import RunFactory, assign_instructor
from tests.factories import InstitutionFactory, RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

K = Question.Kind


def _take(assessment: Assessment, run: CourseRun, *, right: bool) -> None:
    """A new officer of the run's host institution takes the quiz: all right, or all wrong."""
    user = UserFactory(institution=run.host_institution)
    enrollment = Enrollment.objects.create(
        user=user, run=run, version=run.version, status=Enrollment.Status.ACTIVE
    )
    attempt = services.start_attempt(assessment=assessment, enrollment=enrollment, actor=user)
    kinds = dict(
        Question.objects.filter(pk__in=[e["question"] for e in attempt.draw]).values_list(
            "pk", "kind"
        )
    )
    responses = {
        pk: ("b" if kind == K.SINGLE else "3.5") if right else ("a" if kind == K.SINGLE else "9")
        for pk, kind in kinds.items()
    }
    services.submit_attempt(attempt=attempt, actor=user, responses=responses)


@pytest.fixture
def course_runs(institution: Any, other_institution: Any) -> dict[str, Any]:
    """A course owned by a third institution, with a run at `institution` (5 officers, all
    right), one at `other_institution` (1 officer, all wrong) and one at the owner (5, right)."""
    owner = InstitutionFactory()
    assessment = make_assessment(max_attempts=None)
    course = assessment.lesson.version.course
    course.owner_institution = owner
    course.save(update_fields=["owner_institution"])
    ours = run_of(assessment)
    ours.host_institution = institution
    ours.save(update_fields=["host_institution"])
    theirs = RunFactory(course=course, version=ours.version, host_institution=other_institution)
    owners = RunFactory(course=course, version=ours.version, host_institution=owner)
    for _ in range(5):
        _take(assessment, ours, right=True)
        _take(assessment, owners, right=True)
    _take(assessment, theirs, right=False)
    return {"assessment": assessment, "ours": ours, "theirs": theirs, "owners": owners,
            "owner": owner}  # fmt: skip


def _stats(client: Any, user: Any, run: CourseRun, assessment: Assessment) -> Any:
    client.force_login(user)
    response = client.get(
        reverse("assessments:statistics", args=[run.code, assessment.pk]), {"scope": "all"}
    )
    assert response.status_code == 200
    return response


def test_a_host_coordinator_aggregates_only_the_runs_they_teach(
    client: Any, coordinator: Any, course_runs: dict[str, Any]
) -> None:
    response = _stats(client, coordinator, course_runs["ours"], course_runs["assessment"])
    stats = response.context["stats"]
    assert stats
    assert {s.responses for s in stats} == {5}  # not the other institution's officer
    assert {s.facility for s in stats} == {1.0}


def test_an_instructor_aggregates_the_runs_they_teach(
    client: Any, course_runs: dict[str, Any]
) -> None:
    instructor = UserFactory()
    assign_instructor(course_runs["ours"], instructor)
    assign_instructor(course_runs["owners"], instructor)
    response = _stats(client, instructor, course_runs["ours"], course_runs["assessment"])
    assert {s.responses for s in response.context["stats"]} == {10}


def test_the_course_author_and_dps_see_every_run(
    client: Any, dps_admin: Any, course_runs: dict[str, Any]
) -> None:
    author = UserFactory(institution=course_runs["owner"])
    RoleAssignmentFactory(user=author, role="coordinator", institution=course_runs["owner"])
    for user, run in ((author, course_runs["owners"]), (dps_admin, course_runs["ours"])):
        response = _stats(client, user, run, course_runs["assessment"])
        assert {s.responses for s in response.context["stats"]} == {11}


def test_an_aggregate_of_few_attempts_hides_its_figures(
    client: Any, other_institution: Any, course_runs: dict[str, Any]
) -> None:
    """The other institution's coordinator: their run alone, one officer, nothing to compute
    that officer's score from."""
    coordinator = UserFactory(institution=other_institution)
    RoleAssignmentFactory(user=coordinator, role="coordinator", institution=other_institution)
    response = _stats(client, coordinator, course_runs["theirs"], course_runs["assessment"])
    stats = response.context["stats"]
    assert {s.facility for s in stats} == {None}
    assert {s.discrimination for s in stats} == {None}
    assert "fewer than 5" in response.content.decode().lower()
