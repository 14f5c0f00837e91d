"""QA round 2 of the assessments app: learners are told when their grade is released, a
question's points take their plural form, a word for a number is refused while it can be
corrected, and the countdown's label is translated whole."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from assessments import services
from assessments.models import Attempt, Question
from lms.accounts.message_source import render_source
from lms.accounts.models import Notification
from tests.assessments.factories import practical_evaluation, run_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _graded(instructor: Any, officers: int) -> tuple[Any, Any, list[Any]]:
    """A practical evaluation recorded (all observed) for `officers` officers, not released."""
    assessment, run, question, enrollments = practical_evaluation(instructor, officers)
    marks = {enrollment.pk: {question.pk: {"c1", "c2"}} for enrollment in enrollments}
    services.record_practical(assessment=assessment, run=run, actor=instructor, marks=marks)
    return assessment, run, enrollments


def test_releasing_grades_notifies_each_learner_once(
    instructor: Any, client: Any, django_capture_on_commit_callbacks: Any, mailoutbox: Any
) -> None:
    assessment, run, enrollments = _graded(instructor, 3)
    bystander = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.release_grades(assessment=assessment, run=run, actor=instructor)
    assert mailoutbox == []  # nothing is sent before the release commits
    learners = {enrollment.user_id for enrollment in enrollments}
    notices = list(Notification.objects.all())
    assert sorted(n.user_id for n in notices) == sorted(learners)
    assert not Notification.objects.filter(user__in=[instructor, bystander]).exists()
    url = reverse("assessments:released", args=[assessment.pk])
    assert {n.url for n in notices} == {url}
    assert {n.subject for n in notices} == {"Grade released: Final quiz"}
    for callback in callbacks:
        callback()
    assert sorted(message.to[0] for message in mailoutbox) == sorted(
        enrollment.user.email for enrollment in enrollments
    )
    # the link leads each learner to the review of their own attempt
    learner = enrollments[0].user
    attempt = Attempt.objects.get(enrollment=enrollments[0])
    client.force_login(learner)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("assessments:review", args=[attempt.pk])


def test_grade_notice_reads_in_the_learners_language(instructor: Any) -> None:
    assessment, run, enrollments = _graded(instructor, 2)
    portuguese = enrollments[0].user
    portuguese.preferred_language = "pt"
    portuguese.save(update_fields=["preferred_language"])
    services.release_grades(assessment=assessment, run=run, actor=instructor)
    notice = Notification.objects.get(user=portuguese)
    assert notice.message["params"]["assessment"] == "Questionário final"
    with translation.override("en"):
        assert render_source(notice.message, "subject", "") == (
            "Grade released: Questionário final"
        )


def test_released_link_without_a_released_attempt_leads_to_the_assessment(
    instructor: Any, client: Any
) -> None:
    assessment, _run, enrollments = _graded(instructor, 1)  # graded, not released
    client.force_login(enrollments[0].user)
    response = client.get(reverse("assessments:released", args=[assessment.pk]))
    assert response["Location"] == reverse("assessments:overview", args=[assessment.pk])


@pytest.mark.usefixtures("require_postgres")
def test_notifying_5_or_30_learners_costs_the_same_queries(instructor: Any) -> None:
    counts = []
    for officers in (5, 30):
        assessment, run, _enrollments = _graded(instructor, officers)
        before = Notification.objects.count()
        with CaptureQueriesContext(connection) as captured:
            services.release_grades(assessment=assessment, run=run, actor=instructor)
        assert Notification.objects.count() - before == officers
        counts.append(len(captured))
    assert counts[0] == counts[1], counts


def _started(assessment: Any, learner: Any) -> Attempt:
    from tests.assessments.factories import enrol

    enrollment = enrol(assessment, learner)
    return services.start_attempt(assessment=assessment, enrollment=enrollment, actor=learner)


def test_question_points_take_the_plural_they_need(
    assessment: Any, learner: Any, client: Any
) -> None:
    numeric = Question.objects.get(kind=Question.Kind.NUMERIC, course=run_of(assessment).course)
    numeric.points = Decimal(2)
    numeric.save(update_fields=["points"])
    attempt = _started(assessment, learner)
    client.force_login(learner)
    page = client.get(reverse("assessments:take", args=[attempt.pk])).content.decode()
    assert '<span class="points">(1.00 point)</span>' in page
    assert '<span class="points">(2.00 points)</span>' in page


@pytest.mark.parametrize(
    ("points", "count"), [("1.00", 1), ("2.00", 2), ("0", 0), ("1.50", 2), ("0.50", 2)]
)
def test_plural_count_is_the_whole_amount_else_a_plural(points: str, count: int) -> None:
    from assessments.templatetags.assessments_tags import plural_count

    assert plural_count(Decimal(points)) == count


def _numeric(attempt: Attempt) -> Any:
    from assessments.models import Answer

    return Answer.objects.select_related("question").get(
        attempt=attempt, question__kind=Question.Kind.NUMERIC
    )


def test_a_word_for_a_number_is_not_submitted(assessment: Any, learner: Any, client: Any) -> None:
    attempt = _started(assessment, learner)
    answer = _numeric(attempt)
    client.force_login(learner)
    field = f"q-{answer.question_id}"
    response = client.post(
        reverse("assessments:submit", args=[attempt.pk]), {field: "trinta"}, follow=True
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("assessments:take", args=[attempt.pk])
    assert f"Question {answer.position}: answer with a number, for example 3.5." in page
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.IN_PROGRESS
    answer.refresh_from_db()
    assert answer.response == "trinta"  # kept, so the page shows it to correct
    assert 'value="trinta"' in page
    client.post(reverse("assessments:submit", args=[attempt.pk]), {field: "3,5"})
    attempt.refresh_from_db()
    assert attempt.status != Attempt.Status.IN_PROGRESS


def test_autosave_keeps_the_answers_and_names_the_question(
    assessment: Any, learner: Any, client: Any
) -> None:
    attempt = _started(assessment, learner)
    answer = _numeric(attempt)
    client.force_login(learner)
    url = reverse("assessments:save", args=[attempt.pk])
    body = client.post(
        url, {f"q-{answer.question_id}": "trinta"}, headers={"Accept": "application/json"}
    ).json()
    assert body["saved"] is True
    assert body["error"].startswith(f"Question {answer.position}:")
    answer.refresh_from_db()
    assert answer.response == "trinta"
    # without JavaScript, the Save button comes back to the attempt with the message
    response = client.post(url, {f"q-{answer.question_id}": "trinta"})
    assert response["Location"] == reverse("assessments:take", args=[attempt.pk])
    assert client.post(
        url, {f"q-{answer.question_id}": "12,5"}, headers={"Accept": "application/json"}
    ).json() == {"saved": True, "time_left": services.time_left(attempt)}


def test_once_time_is_up_a_word_for_a_number_is_graded_as_it_is(
    assessment: Any, learner: Any
) -> None:
    """The countdown submits the page at 00:00: refusing it then would send the learner back to
    a page that submits again, until the grace runs out."""
    attempt = _started(assessment, learner)
    answer = _numeric(attempt)
    assert attempt.deadline is not None
    submission = services.submit_attempt(
        attempt=attempt,
        actor=learner,
        responses={answer.question_id: "trinta"},
        now=attempt.deadline + services.grace() / 2,
        strict=True,
    )
    assert submission.attempt.status != Attempt.Status.IN_PROGRESS
    answer.refresh_from_db()
    assert answer.score == 0


def test_the_countdown_label_is_one_translatable_string(
    assessment: Any, learner: Any, client: Any
) -> None:
    """attempt.js puts the time in the label's place: French writes "Temps restant : 19:58"."""

    attempt = _started(assessment, learner)
    client.force_login(learner)
    url = reverse("assessments:take", args=[attempt.pk])
    assert 'data-left="Time left: %(time)s"' in client.get(url).content.decode()
    learner.preferred_language = "fr"
    learner.save(update_fields=["preferred_language"])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'data-left="Temps restant : %(time)s"' in page
