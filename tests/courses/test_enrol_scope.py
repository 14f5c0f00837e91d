"""Who may enrol in a run, the same through the page and the REST API (one service check):

- a run of an unpublished course is not there for whoever may not see the course's page (404,
  as that page), except for those who author the course or manage the run;
- a run closed to self-enrolment (status, enrolment window, self_enrolment) is refused alike;
- enrolling someone else needs courses.manage_run on the run, as the enrol-officers page: a
  coordinator of another institution is refused, in their own language, whatever the run's
  approval rule.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from courses.models import CourseRun, Enrollment
from tests.courses.factories import CourseFactory, RunFactory
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db
ENROL = "/api/v1/enrollments/"


def _api(user: Any) -> APIClient:
    client = APIClient()
    token, _created = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _page(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _speaks(user: Any, language: str) -> Any:
    user.preferred_language = language
    user.save(update_fields=["preferred_language"])
    return user


@pytest.fixture
def other_coordinator(other_institution: Any) -> Any:
    user = UserFactory(institution=other_institution)
    RoleAssignmentFactory(user=user, role="coordinator", institution=other_institution)
    return user


@pytest.fixture
def hidden_run(other_institution: Any) -> CourseRun:
    """An open run, hosted by the other institution, of a course it has not published."""
    course = CourseFactory(owner_institution=other_institution, is_published=False)
    return RunFactory(course=course, host_institution=other_institution)


# Defect 4: a run of an unpublished course


def test_the_page_refuses_a_run_of_an_unpublished_course_as_its_course_page(
    learner: Any, hidden_run: CourseRun
) -> None:
    client = _page(learner)
    course_page = client.get(reverse("courses:course", args=[hidden_run.course.code]))
    enrol = client.post(reverse("courses:enrol", args=[hidden_run.code]))
    assert (course_page.status_code, enrol.status_code) == (404, 404)
    assert not Enrollment.objects.filter(run=hidden_run).exists()


@pytest.mark.parametrize(
    ("language", "expected"), [("es", "No encontrado."), ("fr", "Non trouvé.")]
)
def test_the_api_refuses_a_run_of_an_unpublished_course_in_the_callers_language(
    learner: Any, hidden_run: CourseRun, language: str, expected: str
) -> None:
    response = _api(_speaks(learner, language)).post(ENROL, {"run": hidden_run.code}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": expected}
    assert not Enrollment.objects.filter(run=hidden_run).exists()


def test_a_second_try_tells_nothing_more(learner: Any, hidden_run: CourseRun) -> None:
    """An enrolment made before the course was unpublished is not confirmed to an outsider of
    the course either (the answer is the same 404)."""
    Enrollment.objects.create(user=learner, run=hidden_run, version=hidden_run.version)
    response = _api(learner).post(ENROL, {"run": hidden_run.code}, format="json")
    assert response.status_code == 404


def test_whoever_authors_the_course_or_manages_the_run_still_enrols(
    other_institution: Any, other_coordinator: Any, hidden_run: CourseRun
) -> None:
    """A pilot of an unpublished course: its author (the owner's coordinator) enrols themself
    and their officers."""
    officer = UserFactory(institution=other_institution)
    response = _api(other_coordinator).post(
        ENROL, {"run": hidden_run.code, "user": officer.email}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "active"
    mine = _api(other_coordinator).post(ENROL, {"run": hidden_run.code}, format="json")
    assert mine.status_code == 201, mine.content


def test_a_host_coordinator_who_does_not_own_the_course_manages_its_run(
    institution: Any, coordinator: Any, other_institution: Any
) -> None:
    course = CourseFactory(owner_institution=other_institution, is_published=False)
    run = RunFactory(course=course, host_institution=institution)
    officer = UserFactory(institution=institution)
    response = _api(coordinator).post(
        ENROL, {"run": run.code, "user": officer.email}, format="json"
    )
    assert response.status_code == 201, response.content


# Defect 4: runs not open for self-enrolment, the page and the API alike

CLOSED: dict[str, dict[str, Any]] = {
    "draft": {"status": CourseRun.Status.DRAFT},
    "closed": {"status": CourseRun.Status.CLOSED},
    "not yet": {"enrolment_opens": timezone.now() + timedelta(days=3)},
    "too late": {"enrolment_closes": timezone.now() - timedelta(days=1)},
    "no self-enrolment": {"self_enrolment": False},
}


@pytest.mark.parametrize("case", sorted(CLOSED))
def test_a_run_the_page_refuses_is_refused_by_the_api_with_the_same_message(
    learner: Any, case: str
) -> None:
    run = RunFactory(**CLOSED[case])
    page = _page(_speaks(learner, "es")).post(reverse("courses:enrol", args=[run.code]))
    said = [str(message) for message in get_messages(page.wsgi_request)]
    assert page.status_code == 302
    assert not Enrollment.objects.filter(run=run).exists()
    response = _api(learner).post(ENROL, {"run": run.code}, format="json")
    assert response.status_code == 400
    assert response.json() == {"run": said}
    assert not Enrollment.objects.filter(run=run).exists()


# Defect 5: enrolling someone else needs courses.manage_run on the run


@pytest.fixture
def approval_run(institution: Any) -> CourseRun:
    """An on-site run of `institution` whose seats are given on approval."""
    return RunFactory(
        host_institution=institution,
        course__owner_institution=institution,
        mode=CourseRun.Mode.ONSITE,
        requires_approval=True,
    )


def test_a_foreign_coordinator_cannot_enrol_their_officer_through_the_api(
    other_institution: Any, other_coordinator: Any, approval_run: CourseRun
) -> None:
    officer = UserFactory(institution=other_institution)
    page = _page(other_coordinator).get(reverse("courses:enrol_officers", args=[approval_run.code]))
    response = _api(other_coordinator).post(
        ENROL, {"run": approval_run.code, "user": officer.email}, format="json"
    )
    assert page.status_code == 403
    assert response.status_code == 403
    assert response.json() == {"run": ["You may enrol officers only in the runs you manage."]}
    assert not Enrollment.objects.filter(run=approval_run).exists()


@pytest.mark.parametrize("language", ["es", "fr", "pt"])
def test_the_refusal_is_in_the_callers_language(
    other_institution: Any, other_coordinator: Any, approval_run: CourseRun, language: str
) -> None:
    officer = UserFactory(institution=other_institution)
    response = _api(_speaks(other_coordinator, language)).post(
        ENROL, {"run": approval_run.code, "user": officer.email}, format="json"
    )
    with translation.override(language):
        expected = translation.gettext("You may enrol officers only in the runs you manage.")
    assert response.status_code == 403
    assert response.json() == {"run": [expected]}
    assert response["Content-Language"] == language


def test_the_foreign_coordinators_officer_still_asks_for_a_seat_themself(
    other_institution: Any, approval_run: CourseRun
) -> None:
    officer = UserFactory(institution=other_institution)
    response = _api(officer).post(ENROL, {"run": approval_run.code}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"


def test_the_host_coordinator_enrols_their_officer_at_once(
    institution: Any, coordinator: Any, approval_run: CourseRun
) -> None:
    officer = UserFactory(institution=institution)
    response = _api(coordinator).post(
        ENROL, {"run": approval_run.code, "user": officer.email}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "active"


def test_the_service_refuses_a_foreign_coordinator_too(
    other_institution: Any, other_coordinator: Any, approval_run: CourseRun
) -> None:
    """The rule lives in services.enrol, which every path calls."""
    from django.core.exceptions import PermissionDenied

    from courses import services

    officer = UserFactory(institution=other_institution)
    with pytest.raises(PermissionDenied):
        services.enrol(user=officer, run=approval_run, actor=other_coordinator)
    assert not Enrollment.objects.filter(run=approval_run).exists()
