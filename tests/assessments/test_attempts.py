"""Timing and attempt rules: draw, resume, window, limits, time limit and grace, autosave,
submission, which attempt counts, and the results fed to courses."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from assessments import services
from assessments.models import Answer, Assessment, Attempt, Question
from courses.models import LessonProgress
from lms.xapi.models import Statement
from tests.assessments.factories import enrol, make_assessment, make_question
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
K = Question.Kind


def _right(attempt: Attempt) -> dict[int, Any]:
    """Right responses for the default single-choice and numeric questions."""
    kinds = dict(
        Question.objects.filter(pk__in=[e["question"] for e in attempt.draw]).values_list(
            "pk", "kind"
        )
    )
    return {pk: ("b" if kind == K.SINGLE else "3.5") for pk, kind in kinds.items()}


def test_start_stores_the_draw_and_option_order_and_creates_the_answers(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    assert len(attempt.draw) == 2
    single = next(e for e in attempt.draw if e["options"])
    assert sorted(single["options"]) == ["a", "b", "c"]
    assert attempt.answers.count() == 2
    assert attempt.max_score == Decimal(2)
    assert attempt.deadline == attempt.started_at + timedelta(minutes=30)


def test_draw_takes_count_questions_from_the_category_and_never_reads_the_bank(
    django_assert_num_queries: Any,
) -> None:
    assessment = make_assessment(kinds=[K.SINGLE] * 30, count=5)
    enrollment = enrol(assessment)
    assessment = Assessment.objects.select_related("lesson").get(pk=assessment.pk)
    # Sections (1), points and kinds of the drawn questions (2), the in-progress check (1),
    # attempt count (1), savepoint + number + insert + answers + release (5).
    with django_assert_num_queries(10):
        attempt = services.start_attempt(
            assessment=assessment, enrollment=enrollment, actor=enrollment.user
        )
    assert len(attempt.draw) == 5
    assert len({entry["question"] for entry in attempt.draw}) == 5


def test_options_are_shuffled_per_attempt(assessment: Any) -> None:
    section = assessment.sections.get()
    section.count = 3
    section.save()
    category = section.category
    question = make_question(
        category,
        K.SINGLE,
        data={"options": [{"id": str(i), "text": {"en": str(i)}} for i in range(8)]},
        key={"correct": "0"},
    )
    orders = set()
    for _ in range(6):
        enrollment = enrol(assessment)
        attempt = services.start_attempt(
            assessment=assessment, enrollment=enrollment, actor=enrollment.user
        )
        orders.add(tuple(next(e["options"] for e in attempt.draw if e["question"] == question.pk)))
    assert len(orders) > 1


def test_a_new_question_enters_the_pool_and_a_retired_one_leaves_it(assessment: Any) -> None:
    section = assessment.sections.get()
    question = make_question(section.category, K.TRUE_FALSE)
    section.refresh_from_db()
    assert question.pk in [entry[0] for entry in section.pool]
    question.is_active = False
    question.save()
    section.refresh_from_db()
    assert question.pk not in [entry[0] for entry in section.pool]


def test_starting_again_resumes_the_attempt_in_progress_with_the_time_left(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    now = timezone.now()
    first = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user, now=now
    )
    again = services.start_attempt(
        assessment=assessment,
        enrollment=enrollment,
        actor=enrollment.user,
        now=now + timedelta(minutes=10),
    )
    assert again.pk == first.pk
    assert services.time_left(again, now + timedelta(minutes=10)) == 20 * 60


def test_autosave_keeps_responses_and_submit_grades_them(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    responses = _right(attempt)
    services.save_answers(attempt=attempt, actor=enrollment.user, responses=responses)
    assert {a.question_id: a.response for a in attempt.answers.all()} == responses
    submission = services.submit_attempt(attempt=attempt, actor=enrollment.user)
    attempt = submission.attempt
    assert submission.created
    assert attempt.status == Attempt.Status.RELEASED
    assert attempt.score == Decimal(2)
    assert attempt.passed is True
    progress = LessonProgress.objects.get(enrollment=enrollment)
    assert progress.status == LessonProgress.Status.COMPLETED
    assert progress.passed is True
    assert progress.score_pct == Decimal(100)


def test_submitting_twice_is_one_submission(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    first = services.submit_attempt(
        attempt=attempt, actor=enrollment.user, responses=_right(attempt)
    )
    second = services.submit_attempt(attempt=attempt, actor=enrollment.user, responses={})
    assert first.created
    assert not second.created
    assert second.attempt.submitted_at == first.attempt.submitted_at
    assert second.attempt.score == Decimal(2)


def test_no_change_after_submit(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    services.submit_attempt(attempt=attempt, actor=enrollment.user, responses=_right(attempt))
    with pytest.raises(services.AttemptRefused, match="can no longer change"):
        services.save_answers(attempt=attempt, actor=enrollment.user, responses={})


def test_submit_within_the_grace_is_accepted(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    now = timezone.now()
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user, now=now
    )
    late_but_in_grace = now + timedelta(minutes=30, seconds=20)
    submission = services.submit_attempt(
        attempt=attempt, actor=enrollment.user, responses=_right(attempt), now=late_but_in_grace
    )
    assert not submission.attempt.expired
    assert submission.attempt.score == Decimal(2)


def test_late_submission_is_refused_and_the_saved_answers_are_graded(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    now = timezone.now()
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user, now=now
    )
    single = next(e["question"] for e in attempt.draw if e["options"])
    services.save_answers(
        attempt=attempt,
        actor=enrollment.user,
        responses={single: "b"},
        now=now + timedelta(minutes=5),
    )
    with pytest.raises(services.LateSubmission, match="Time ran out"):
        services.submit_attempt(
            attempt=attempt,
            actor=enrollment.user,
            responses=_right(attempt),
            now=now + timedelta(minutes=31),
        )
    attempt.refresh_from_db()
    assert attempt.expired
    assert attempt.score == Decimal(1)  # only the autosaved answer counts
    # Asking again gets the same refusal, not a second submission.
    with pytest.raises(services.LateSubmission):
        services.submit_attempt(
            attempt=attempt, actor=enrollment.user, now=now + timedelta(minutes=32)
        )


def test_autosave_after_the_deadline_is_refused(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    now = timezone.now()
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user, now=now
    )
    with pytest.raises(services.LateSubmission):
        services.save_answers(
            attempt=attempt,
            actor=enrollment.user,
            responses=_right(attempt),
            now=now + timedelta(hours=1),
        )
    assert not Answer.objects.filter(attempt=attempt, response__isnull=False).exists()


def test_time_limit_never_runs_past_the_closing_time(db: None) -> None:
    closes = timezone.now() + timedelta(minutes=10)
    assessment = make_assessment(closes_at=closes, time_limit_minutes=60)
    enrollment = enrol(assessment)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    assert attempt.deadline == closes


def test_cannot_start_before_it_opens(db: None) -> None:
    assessment = make_assessment(opens_at=timezone.now() + timedelta(days=1))
    enrollment = enrol(assessment)
    with pytest.raises(services.AttemptRefused, match="opens on"):
        services.start_attempt(assessment=assessment, enrollment=enrollment, actor=enrollment.user)


def test_cannot_start_after_it_closes(db: None) -> None:
    assessment = make_assessment(closes_at=timezone.now() - timedelta(minutes=1))
    enrollment = enrol(assessment)
    with pytest.raises(services.AttemptRefused, match="closed on"):
        services.start_attempt(assessment=assessment, enrollment=enrollment, actor=enrollment.user)


def test_cannot_start_beyond_the_attempts_allowed(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    for _ in range(2):
        attempt = services.start_attempt(
            assessment=assessment, enrollment=enrollment, actor=enrollment.user
        )
        services.submit_attempt(attempt=attempt, actor=enrollment.user)
    with pytest.raises(services.AttemptRefused, match="all 2 attempts"):
        services.start_attempt(assessment=assessment, enrollment=enrollment, actor=enrollment.user)


def test_a_single_attempt_allowed_is_said_in_the_singular(enrollment: Any) -> None:
    from django.utils import translation

    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    assessment.max_attempts = 1
    assessment.save(update_fields=["max_attempts"])
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    services.submit_attempt(attempt=attempt, actor=enrollment.user)
    with pytest.raises(services.AttemptRefused, match="the 1 attempt allowed"):
        services.start_attempt(assessment=assessment, enrollment=enrollment, actor=enrollment.user)
    with translation.override("es"), pytest.raises(services.AttemptRefused) as refused:
        services.start_attempt(assessment=assessment, enrollment=enrollment, actor=enrollment.user)
    assert str(refused.value.messages[0]) == "Ya usó el 1 intento permitido."


def test_cannot_start_for_someone_else_or_without_an_active_enrolment(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    with pytest.raises(PermissionDenied):
        services.start_attempt(assessment=assessment, enrollment=enrollment, actor=UserFactory())
    enrollment.status = "withdrawn"
    enrollment.save()
    with pytest.raises(services.AttemptRefused, match="not enrolled"):
        services.start_attempt(assessment=assessment, enrollment=enrollment, actor=enrollment.user)


def test_cannot_submit_someone_elses_attempt(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    with pytest.raises(PermissionDenied):
        services.submit_attempt(attempt=attempt, actor=UserFactory())


@pytest.mark.parametrize(
    ("method", "expected"),
    [("highest", Decimal(100)), ("last", Decimal(50)), ("average", Decimal(75))],
)
def test_the_attempt_that_counts(method: str, expected: Decimal) -> None:
    assessment = make_assessment(grading_method=method, max_attempts=None)
    enrollment = enrol(assessment)
    first = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    services.submit_attempt(attempt=first, actor=enrollment.user, responses=_right(first))
    second = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    single = next(e["question"] for e in second.draw if e["options"])
    services.submit_attempt(attempt=second, actor=enrollment.user, responses={single: "b"})
    assert services.counted_result(assessment=assessment, enrollment=enrollment) == expected
    assert LessonProgress.objects.get(enrollment=enrollment).score_pct == expected


def test_results_become_xapi_statements_with_stable_ids(enrollment: Any) -> None:
    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    services.submit_attempt(attempt=attempt, actor=enrollment.user, responses=_right(attempt))
    expected = {
        services.statement_id("scored", attempt.pk, 0),
        services.statement_id("passed", attempt.pk, 0),
        *(services.statement_id("answered", attempt.pk, e["question"]) for e in attempt.draw),
    }
    stored = Statement.objects.filter(registration=enrollment.registration)
    assert expected <= set(stored.values_list("statement_id", flat=True))
    passed = stored.get(statement_id=services.statement_id("passed", attempt.pk, 0))
    assert passed.verb_id == "http://adlnet.gov/expapi/verbs/passed"
    assert passed.data["result"]["score"]["scaled"] == 1.0


@pytest.mark.parametrize(
    ("language", "word", "plural"),
    [
        ("es", "Aprobado", "Aprobados"),
        ("pt", "Aprovado", "Aprovados"),
        ("fr", "Réussi", "Réussites"),
    ],
)
def test_a_passed_attempt_is_said_passed_in_the_singular(
    client: Any, enrollment: Any, language: str, word: str, plural: str
) -> None:
    """The result of one attempt, not the grades file's column of those who passed."""
    from django.urls import reverse
    from django.utils import translation

    assessment = enrollment.run.version.lessons.get(kind="assessment").assessment
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    services.submit_attempt(attempt=attempt, actor=enrollment.user, responses=_right(attempt))
    enrollment.user.preferred_language = language  # the page is in the reader's language
    enrollment.user.save(update_fields=["preferred_language"])
    client.force_login(enrollment.user)
    with translation.override(language):
        page = client.get(reverse("assessments:review", args=[attempt.pk])).content.decode()
    assert f'lang="{language}"' in page
    assert f"<strong>{word}</strong>" in page
    assert plural not in page
