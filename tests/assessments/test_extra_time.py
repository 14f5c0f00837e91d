"""Extra time on timed assessments (an accessibility accommodation, WCAG 2.2.1 Timing
Adjustable): who may give it, what it does to new attempts and to attempts under way, the page
that lists a run's learners, and what the learner sees."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assessments import selectors, services
from assessments.models import Assessment, Attempt, TimeAllowance
from courses.models import CourseRun, Enrollment
from tests.assessments.factories import enrol, make_assessment, run_of
from tests.courses.factories import assign_instructor
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def exam(db: None) -> Assessment:
    """A 60-minute exam, open without a closing time."""
    return make_assessment(time_limit_minutes=60)


@pytest.fixture
def exam_run(exam: Assessment) -> CourseRun:
    return run_of(exam)


@pytest.fixture
def ana(exam: Assessment) -> Enrollment:
    return enrol(exam, UserFactory(full_name="Ana Pérez", email="ana@example.org"))


@pytest.fixture
def teacher(exam_run: CourseRun, instructor: Any) -> Any:
    return assign_instructor(exam_run, instructor)


def _url(run: CourseRun, **query: str) -> str:
    url = reverse("assessments:extra_time", args=[run.code])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else url


def _start(exam: Assessment, enrollment: Enrollment, now: Any = None) -> Attempt:
    return services.start_attempt(
        assessment=exam, enrollment=enrollment, actor=enrollment.user, now=now
    )


# --- The rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "extra", "minutes"),
    [(60, 0, 60), (60, 25, 75), (60, 50, 90), (60, 100, 120), (60, 200, 180), (10, 25, 13)],
)
def test_the_time_limit_grows_by_the_share_rounded_up_to_whole_minutes(
    limit: int, extra: int, minutes: int
) -> None:
    assert selectors.extended_minutes(limit_minutes=limit, extra_pct=extra) == minutes


def test_an_instructor_grants_half_again_and_the_next_attempt_has_90_minutes(
    client: Any, exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    client.force_login(teacher)
    response = client.post(_url(exam_run), {"enrollment": ana.pk, "extra_pct": "50"}, follow=True)
    assert response.redirect_chain == [(_url(exam_run), 302)]
    assert "Extra time for Ana Pérez: +50 %." in response.content.decode()
    allowance = TimeAllowance.objects.get(enrollment=ana)
    assert (allowance.extra_pct, allowance.granted_by) == (50, teacher)
    now = timezone.now()
    attempt = _start(exam, ana, now)
    assert attempt.deadline == now + timedelta(minutes=90)


def test_a_learner_without_extra_time_keeps_the_time_limit(
    exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    other = enrol(exam)
    services.set_time_allowance(run=exam_run, enrollment=other, extra_pct=100, actor=teacher)
    now = timezone.now()
    assert _start(exam, ana, now).deadline == now + timedelta(minutes=60)
    assert _start(exam, other, now).deadline == now + timedelta(minutes=120)


def test_reading_the_extra_time_costs_no_query_when_starting(
    exam_run: CourseRun, teacher: Any, django_assert_num_queries: Any
) -> None:
    """The allowance is read with the next attempt's number: starting costs what it did (the
    ten queries of test_attempts' draw test)."""
    assessment = make_assessment(time_limit_minutes=60)
    enrollment = enrol(assessment)
    assign_instructor(run_of(assessment), teacher)
    services.set_time_allowance(
        run=run_of(assessment), enrollment=enrollment, extra_pct=25, actor=teacher
    )
    assessment = Assessment.objects.select_related("lesson").get(pk=assessment.pk)
    enrollment = Enrollment.objects.select_related("user").get(pk=enrollment.pk)
    now = timezone.now()
    with django_assert_num_queries(10):
        attempt = _start(assessment, enrollment, now)
    assert attempt.deadline == now + timedelta(minutes=75)


def test_the_extra_time_never_runs_past_the_closing_time(
    exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    now = timezone.now()
    exam.closes_at = now + timedelta(minutes=70)
    exam.save(update_fields=["closes_at"])
    services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=50, actor=teacher)
    assert _start(exam, ana, now).deadline == exam.closes_at


def test_an_assessment_without_a_time_limit_is_unaffected(
    exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    now = timezone.now()
    exam.time_limit_minutes = None
    exam.closes_at = now + timedelta(days=2)
    exam.save(update_fields=["time_limit_minutes", "closes_at"])
    services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=200, actor=teacher)
    assert _start(exam, ana, now).deadline == exam.closes_at
    assert selectors.allowed_minutes(assessment=exam, enrollment=ana) is None


# --- Attempts under way -----------------------------------------------------------------------


def test_an_attempt_in_progress_is_extended_and_never_shortened(
    exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    started = timezone.now() - timedelta(minutes=10)
    attempt = _start(exam, ana, started)
    assert attempt.deadline == started + timedelta(minutes=60)
    services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=50, actor=teacher)
    attempt.refresh_from_db()
    assert attempt.deadline == started + timedelta(minutes=90)
    # lowered, then removed: the attempt under way keeps the time it was given
    services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=25, actor=teacher)
    attempt.refresh_from_db()
    assert attempt.deadline == started + timedelta(minutes=90)
    assert (
        services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=None, actor=teacher)
        is None
    )
    attempt.refresh_from_db()
    assert attempt.deadline == started + timedelta(minutes=90)
    assert not TimeAllowance.objects.filter(enrollment=ana).exists()
    # raised again: extended again
    services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=100, actor=teacher)
    attempt.refresh_from_db()
    assert attempt.deadline == started + timedelta(minutes=120)


def test_an_attempt_in_progress_is_extended_only_up_to_the_closing_time(
    exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    started = timezone.now() - timedelta(minutes=10)
    exam.closes_at = started + timedelta(minutes=75)
    exam.save(update_fields=["closes_at"])
    attempt = _start(exam, ana, started)
    services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=100, actor=teacher)
    attempt.refresh_from_db()
    assert attempt.deadline == exam.closes_at


def test_an_attempt_whose_time_ran_out_is_not_reopened(
    exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    started = timezone.now() - timedelta(hours=2)
    attempt = _start(exam, ana, started)
    services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=50, actor=teacher)
    attempt.refresh_from_db()
    assert attempt.deadline == started + timedelta(minutes=60)
    assert services.close_if_expired(attempt=attempt)


def test_an_untimed_attempt_in_progress_keeps_its_closing_time(
    exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    exam.time_limit_minutes = None
    exam.closes_at = timezone.now() + timedelta(minutes=30)
    exam.save(update_fields=["time_limit_minutes", "closes_at"])
    attempt = _start(exam, ana)
    services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=200, actor=teacher)
    attempt.refresh_from_db()
    assert attempt.deadline == exam.closes_at


def test_removing_the_extra_time_gives_the_next_attempt_the_time_limit(
    client: Any, exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=50, actor=teacher)
    client.force_login(teacher)
    response = client.post(_url(exam_run), {"enrollment": ana.pk, "extra_pct": ""}, follow=True)
    assert response.status_code == 200
    assert "Extra time removed for Ana Pérez." in response.content.decode()
    assert not TimeAllowance.objects.filter(enrollment=ana).exists()
    now = timezone.now()
    assert _start(exam, ana, now).deadline == now + timedelta(minutes=60)


# --- Who may, and what is refused -------------------------------------------------------------


def test_the_service_refuses_those_who_do_not_teach_the_run(
    exam_run: CourseRun, ana: Enrollment
) -> None:
    outsider = assign_instructor(run_of(make_assessment()))
    for person in (outsider, ana.user):
        with pytest.raises(PermissionDenied):
            services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=50, actor=person)
    assert not TimeAllowance.objects.exists()


def test_the_service_names_the_field_it_refuses(
    exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    elsewhere = enrol(make_assessment())
    with pytest.raises(ValidationError) as refused:
        services.set_time_allowance(run=exam_run, enrollment=elsewhere, extra_pct=50, actor=teacher)
    assert set(refused.value.error_dict) == {"enrollment"}
    with pytest.raises(ValidationError) as refused:
        services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=30, actor=teacher)
    assert set(refused.value.error_dict) == {"extra_pct"}
    assert not TimeAllowance.objects.exists()


def test_the_page_is_refused_to_those_who_do_not_teach_the_run(
    client: Any,
    exam_run: CourseRun,
    ana: Enrollment,
    institution: Any,
    other_institution: Any,
) -> None:
    exam_run.host_institution = institution
    exam_run.save(update_fields=["host_institution"])
    other_instructor = assign_instructor(run_of(make_assessment()))
    other_coordinator = UserFactory(institution=other_institution)
    RoleAssignmentFactory(user=other_coordinator, role="coordinator", institution=other_institution)
    url = _url(exam_run)
    post = {"enrollment": ana.pk, "extra_pct": "50"}
    for person in (other_instructor, other_coordinator, ana.user):
        client.force_login(person)
        assert client.get(url).status_code == 403, person
        assert client.post(url, post).status_code == 403, person
    client.logout()
    for response in (client.get(url), client.post(url, post)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    assert not TimeAllowance.objects.exists()


def test_a_coordinator_of_the_host_institution_may_give_extra_time(
    client: Any, exam_run: CourseRun, ana: Enrollment, institution: Any, coordinator: Any
) -> None:
    exam_run.host_institution = institution
    exam_run.save(update_fields=["host_institution"])
    client.force_login(coordinator)
    assert client.get(_url(exam_run)).status_code == 200
    response = client.post(_url(exam_run), {"enrollment": ana.pk, "extra_pct": "25"})
    assert response.status_code == 302
    assert TimeAllowance.objects.get(enrollment=ana).extra_pct == 25


def test_an_enrolment_of_another_run_is_refused_naming_the_field(
    client: Any, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    elsewhere = enrol(make_assessment())
    client.force_login(teacher)
    for enrollment_id in (str(elsewhere.pk), "999999", "abc", ""):
        response = client.post(_url(exam_run), {"enrollment": enrollment_id, "extra_pct": "50"})
        assert response.status_code == 400, enrollment_id
        page = response.content.decode()
        assert 'role="alert"' in page
        assert "Learner: " in page, enrollment_id
    assert not TimeAllowance.objects.exists()


def test_a_withdrawn_learner_is_not_listed_nor_given_extra_time(
    client: Any, exam: Assessment, exam_run: CourseRun, teacher: Any
) -> None:
    withdrawn = enrol(exam, UserFactory(full_name="Bruno Withdrawn"))
    withdrawn.status = Enrollment.Status.WITHDRAWN
    withdrawn.save(update_fields=["status"])
    client.force_login(teacher)
    assert "Bruno Withdrawn" not in client.get(_url(exam_run)).content.decode()
    response = client.post(_url(exam_run), {"enrollment": withdrawn.pk, "extra_pct": "50"})
    assert response.status_code == 400
    assert not TimeAllowance.objects.exists()


@pytest.mark.parametrize("value", ["30", "0", "-25", "1000", "abc", "50.0", " "])
def test_an_extra_time_not_offered_is_refused_naming_the_field(
    client: Any, exam_run: CourseRun, ana: Enrollment, teacher: Any, value: str
) -> None:
    client.force_login(teacher)
    response = client.post(_url(exam_run), {"enrollment": ana.pk, "extra_pct": value})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Extra time: Select a valid choice." in page
    assert "Ana Pérez" in page  # the page is shown again, rows and all
    assert not TimeAllowance.objects.exists()


def test_a_refusal_reads_in_the_instructors_language(
    client: Any, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    teacher.preferred_language = "es"
    teacher.save(update_fields=["preferred_language"])
    elsewhere = enrol(make_assessment())
    client.force_login(teacher)
    response = client.post(_url(exam_run), {"enrollment": elsewhere.pk, "extra_pct": "50"})
    assert response.status_code == 400
    page = response.content.decode()
    assert '<html lang="es">' in page
    assert "Corrija lo siguiente:" in page
    assert (
        "Participante: Escoja una opción válida. Esa opción no está entre las disponibles." in page
    )
    response = client.post(_url(exam_run), {"enrollment": ana.pk, "extra_pct": "300"})
    assert response.status_code == 400
    assert "Escoja una opción válida. 300 no es una de las opciones disponibles." in (
        response.content.decode()
    )
    assert not TimeAllowance.objects.exists()


# --- The page ---------------------------------------------------------------------------------


def test_the_page_lists_the_learners_with_their_extra_time_and_a_labelled_form_each(
    client: Any, exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    ana.user.badge_number = "PN-4711"
    ana.user.save(update_fields=["badge_number"])
    completed = enrol(exam, UserFactory(full_name="Carla Completed"))
    completed.status = Enrollment.Status.COMPLETED
    completed.save(update_fields=["status"])
    services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=100, actor=teacher)
    client.force_login(teacher)
    page = client.get(_url(exam_run)).content.decode()
    assert "ana@example.org" in page
    assert "PN-4711" in page
    assert "Carla Completed" in page
    assert (
        f'<label class="visually-hidden" for="extra-{ana.pk}">Extra time for Ana Pérez</label>'
        in page
    )
    assert '<option value="100" selected>+100 %</option>' in page
    assert (
        f'<select id="extra-{completed.pk}" name="extra_pct"><option value="">No extra time</option><option value="25">'
        in page
    )
    assert "granted" not in page.lower()  # who and why stay off the page


def test_the_search_finds_by_name_or_email_and_the_change_returns_to_it(
    client: Any, exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    enrol(exam, UserFactory(full_name="Bruno Silva", email="bruno@example.org"))
    client.force_login(teacher)
    found = client.get(_url(exam_run, q="pérez")).content.decode()
    assert "Ana Pérez" in found
    assert "Bruno Silva" not in found
    assert "Bruno Silva" in client.get(_url(exam_run, q="BRUNO@")).content.decode()
    assert "No learner matches the search." in client.get(_url(exam_run, q="zzz")).content.decode()
    url = _url(exam_run, q="ana", page="1")
    response = client.post(url, {"enrollment": ana.pk, "extra_pct": "50"})
    assert (response.status_code, response["Location"]) == (302, url)


def test_the_page_is_paginated_by_50_keeping_the_search(
    client: Any, exam: Assessment, exam_run: CourseRun, teacher: Any
) -> None:
    for number in range(52):
        enrol(exam, UserFactory(full_name=f"Officer Cadet {number:02d}"))
    client.force_login(teacher)
    first = client.get(_url(exam_run, q="cadet")).content.decode()
    assert "52 learners" in first
    assert first.count('name="extra_pct"') == 50
    assert 'href="?q=cadet&amp;page=2"' in first
    second = client.get(_url(exam_run, q="cadet", page="2")).content.decode()
    assert second.count('name="extra_pct"') == 2
    assert "Officer Cadet 51" in second


def test_the_page_costs_the_same_queries_for_3_or_30_learners(
    client: Any, exam: Assessment, exam_run: CourseRun, teacher: Any
) -> None:
    client.force_login(teacher)
    counts = []
    for total in (3, 30):
        while Enrollment.objects.filter(run=exam_run).count() < total:
            enrollment = enrol(exam)
            if enrollment.pk % 2:
                services.set_time_allowance(
                    run=exam_run, enrollment=enrollment, extra_pct=50, actor=teacher
                )
        client.get(_url(exam_run))  # the session read, as a signed-in user's
        with CaptureQueriesContext(connection) as captured:
            page = client.get(_url(exam_run))
        assert page.content.decode().count('name="extra_pct"') == total
        counts.append(len(captured))
    assert counts[0] == counts[1], counts


def test_the_grading_queue_links_to_the_page_when_a_run_is_chosen(
    client: Any, exam_run: CourseRun, teacher: Any
) -> None:
    client.force_login(teacher)
    link = f'href="{_url(exam_run)}"'
    assert link not in client.get(reverse("assessments:queue")).content.decode()
    page = client.get(reverse("assessments:queue"), {"run": exam_run.pk}).content.decode()
    assert f"{link}>Extra time for learners</a>" in page
    assert "Download the grades (CSV)" in page


# --- What the learner sees --------------------------------------------------------------------


def test_the_overview_shows_the_learners_extended_time(
    client: Any, exam: Assessment, exam_run: CourseRun, ana: Enrollment, teacher: Any
) -> None:
    url = reverse("assessments:overview", args=[exam.pk])
    client.force_login(ana.user)
    assert "with your extra time" not in client.get(url).content.decode()
    services.set_time_allowance(run=exam_run, enrollment=ana, extra_pct=50, actor=teacher)
    page = client.get(url).content.decode()
    assert "60 minutes (90 minutes with your extra time)" in page
    other = enrol(exam)
    client.force_login(other.user)
    assert "with your extra time" not in client.get(url).content.decode()
