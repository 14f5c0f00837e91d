"""A learner enrolled twice in a course's version (a completed run and a new one) takes its
assessment in the run they came from: the player's link names the enrolment, the attempt is
that run's (its instructors grade it, the learner sees its result there), and without a named
enrolment the active one comes before a completed one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assessments.models import Attempt
from courses.models import CourseRun, Enrollment
from tests.assessments.factories import run_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_runs(assessment: Any, learner: Any) -> tuple[Enrollment, Enrollment]:
    """A completed enrolment in a closed run, enrolled *after* the active one in a new run (as
    the demo's imported history is): the latest enrolment is not the run in use."""
    first = run_of(assessment)
    closed = CourseRun.objects.create(
        course=first.course, version=first.version, code=f"{first.code}-past",
        starts_on=dt.date(2026, 8, 1), ends_on=dt.date(2026, 9, 1),
        status=CourseRun.Status.CLOSED,
    )  # fmt: skip
    active = Enrollment.objects.create(
        user=learner, run=first, version=first.version, status=Enrollment.Status.ACTIVE,
        enrolled_at=timezone.now() - dt.timedelta(days=2),
    )  # fmt: skip
    completed = Enrollment.objects.create(
        user=learner, run=closed, version=first.version, status=Enrollment.Status.COMPLETED,
        enrolled_at=timezone.now() - dt.timedelta(days=1), progress_pct=100,
    )  # fmt: skip
    return active, completed


def _start(client: Client, assessment: Any, registration: Any) -> Attempt:
    page = client.get(
        reverse("assessments:overview", args=[assessment.pk]), {"registration": registration}
    )
    assert page.status_code == 200
    assert f'name="registration" value="{registration}"' in page.text
    response = client.post(
        reverse("assessments:start", args=[assessment.pk]), {"registration": registration}
    )
    assert response.status_code == 302
    return Attempt.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def test_the_players_link_takes_the_assessment_in_the_run_played(
    client: Client, learner: Any, assessment: Any, two_runs: tuple[Enrollment, Enrollment]
) -> None:
    active, completed = two_runs
    client.force_login(learner)
    player = client.get(reverse("courses:lesson", args=[active.registration, assessment.lesson_id]))
    link = f"{reverse('assessments:overview', args=[assessment.pk])}?registration={active.registration}"
    assert f'href="{link}"' in player.text
    attempt = _start(client, assessment, active.registration)
    assert (attempt.enrollment_id, attempt.run_id) == (active.pk, active.run_id)
    # the review page leads back to the same run's page of the assessment
    attempt.status = Attempt.Status.SUBMITTED
    attempt.submitted_at = timezone.now()
    attempt.save()
    review = client.get(reverse("assessments:review", args=[attempt.pk]))
    assert f'href="{link}"' in review.text


def test_the_completed_runs_page_is_its_own(
    client: Client, learner: Any, assessment: Any, two_runs: tuple[Enrollment, Enrollment]
) -> None:
    active, completed = two_runs
    client.force_login(learner)
    attempt = _start(client, assessment, completed.registration)
    assert (attempt.enrollment_id, attempt.run_id) == (completed.pk, completed.run_id)


def test_without_a_named_enrolment_the_active_one_comes_first(
    client: Client, learner: Any, assessment: Any, two_runs: tuple[Enrollment, Enrollment]
) -> None:
    active, _completed = two_runs
    client.force_login(learner)
    response = client.post(reverse("assessments:start", args=[assessment.pk]))
    attempt = Attempt.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    assert attempt.enrollment_id == active.pk


@pytest.mark.parametrize("registration", ["not-a-uuid", "other"])
def test_an_enrolment_not_the_learners_is_refused(
    client: Client, learner: Any, assessment: Any, two_runs: tuple[Enrollment, Enrollment],
    registration: str,
) -> None:  # fmt: skip
    from tests.factories import UserFactory

    if registration == "other":  # another learner's, in the same run
        active = two_runs[0]
        registration = str(
            Enrollment.objects.create(
                user=UserFactory(), run=active.run, version=active.version
            ).registration
        )
    client.force_login(learner)
    overview = reverse("assessments:overview", args=[assessment.pk])
    assert client.get(overview, {"registration": registration}).status_code == 403
    response = client.post(
        reverse("assessments:start", args=[assessment.pk]), {"registration": registration}
    )
    assert response.status_code == 403
    assert not Attempt.objects.filter(user=learner).exists()
