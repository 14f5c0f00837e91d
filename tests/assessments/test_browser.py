"""In Chromium: an officer takes a timed quiz in Portuguese (autosave, reconnect, submit), and an
instructor grades an essay with a rubric and releases it."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from assessments.models import Attempt, GradeChange, Question
from tests.assessments.factories import enrol, make_assessment, make_rubric, run_of
from tests.conftest import login_cookie
from tests.courses.factories import assign_instructor
from tests.factories import UserFactory

K = Question.Kind


@pytest.mark.django_db(transaction=True)
def test_officer_takes_a_timed_quiz_in_portuguese(live_server: Any, browser: Any) -> None:
    assessment = make_assessment(
        kinds=[K.SINGLE, K.NUMERIC, K.TRUE_FALSE], time_limit_minutes=10, max_attempts=1
    )
    officer = UserFactory(preferred_language="pt")
    enrol(assessment, officer)
    context = browser.new_context()
    context.add_cookies([login_cookie(officer, live_server.url)])
    # Generous: the machine's two cores are shared with other work.
    context.set_default_timeout(90_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    assert page.locator("html").get_attribute("lang") == "pt"
    assert page.get_by_role("heading", level=1).inner_text() == "Questionário final"
    page.get_by_role("button", name="Iniciar uma tentativa").click()
    page.get_by_role("button", name="Entregar").wait_for()
    assert "Tempo restante" in page.locator("#timer").inner_text()
    page.get_by_label("Opção b").check()
    page.get_by_label("Sua resposta (um número)").fill("3,5")
    # The autosave (JavaScript) reports the save; the server has the answers.
    # Brazilian Portuguese ("Salvo", not Portugal's "Guardado"), and not "Não salvo".
    page.locator("#autosave-status").get_by_text(re.compile(r"^Salvo ")).wait_for()
    attempt = Attempt.objects.get(user=officer)
    saved = dict(attempt.answers.values_list("question__kind", "response"))
    assert saved[K.SINGLE] == "b"
    assert saved[K.NUMERIC] == "3,5"
    # Losing the connection: the same attempt comes back with its answers and its time.
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    page.get_by_role("button", name="Retomar sua tentativa").click()
    assert page.get_by_label("Opção b").is_checked()
    assert page.get_by_label("Sua resposta (um número)").input_value() == "3,5"
    page.get_by_label("Verdadeiro").check()
    page.get_by_role("button", name="Entregar").click()
    page.get_by_text("Sua tentativa foi entregue.").wait_for()
    context.close()
    attempt.refresh_from_db()
    assert Attempt.objects.filter(user=officer).count() == 1
    assert attempt.status == Attempt.Status.RELEASED
    assert attempt.score == Decimal(3)
    assert attempt.passed is True


@pytest.mark.django_db(transaction=True)
def test_instructor_grades_an_essay_with_a_rubric(live_server: Any, browser: Any) -> None:
    from assessments import services

    assessment = make_assessment(kinds=[K.ESSAY], time_limit_minutes=None)
    essay = Question.objects.get(kind=K.ESSAY, course=assessment.lesson.version.course)
    essay.rubric = make_rubric(essay.course)
    essay.points = Decimal(4)
    essay.save()
    enrollment = enrol(assessment)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    services.submit_attempt(
        attempt=attempt,
        actor=enrollment.user,
        responses={essay.pk: "I would open a dialogue with the organisers."},
    )
    run = run_of(assessment)
    instructor = assign_instructor(run)
    context = browser.new_context()
    context.add_cookies([login_cookie(instructor, live_server.url)])
    # Generous: the machine's two cores are shared with other work.
    context.set_default_timeout(90_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/assessments/grading/?run={run.pk}")
    page.get_by_role("link", name=enrollment.user.full_name).click()
    page.get_by_text("I would open a dialogue with the organisers.").wait_for()
    page.get_by_role("group", name="Argument").get_by_label("Complete").check()
    page.get_by_role("group", name="Use of law").get_by_label("Partial").check()
    page.get_by_label("Comment to the learner").fill("Cite the law next time.")
    page.get_by_role("button", name="Save the grade").click()
    page.get_by_text("The grade is saved.").wait_for()
    history = page.get_by_role("table").last
    assert "3.00" in history.inner_text()
    page.get_by_role("link", name="Back to the grading queue").click()
    page.get_by_label("Show").select_option("graded")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("button", name="Release the graded results of this assessment").click()
    page.get_by_text("1 grade released.").wait_for()
    context.close()
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.RELEASED
    assert attempt.score == Decimal(3)
    assert GradeChange.objects.get(attempt=attempt).changed_by == instructor
