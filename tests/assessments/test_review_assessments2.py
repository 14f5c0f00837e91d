"""Review round: a start racing one submitted meanwhile, bad answer-key patterns, and the
deadline text of the attempt page."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import formats, timezone, translation

from assessments import grading, services
from assessments.models import Attempt, Question, QuestionCategory
from tests.assessments.factories import enrol, make_assessment
from tests.factories import UserFactory

K = Question.Kind


# --- 1. A start whose save loses to an attempt submitted before it could be resumed ---------


def _start_while_a_rival_attempt_is_started_and_submitted(assessment: Any) -> Any:
    """Start in a thread while this connection holds a new attempt (number 1) uncommitted;
    once the thread's insert waits on it, submit it and commit: the thread's save fails and
    there is no attempt in progress to resume. The thread's outcome (attempt or error)."""
    enrollment = enrol(assessment)
    outcome: list[Any] = []

    def start() -> None:
        try:
            outcome.append(
                services.start_attempt(
                    assessment=assessment, enrollment=enrollment, actor=enrollment.user
                )
            )
        except Exception as error:  # noqa: BLE001 - reported to the test
            outcome.append(error)
        finally:
            connection.close()

    now = timezone.now()
    with transaction.atomic():
        rival = Attempt.objects.create(
            assessment=assessment,
            enrollment=enrollment,
            run_id=enrollment.run_id,
            user_id=enrollment.user_id,
            number=1,
            started_at=now,
            draw=[],
            max_score=Decimal(0),
        )
        thread = threading.Thread(target=start)
        thread.start()
        waited = 0.0
        with connection.cursor() as cursor:
            while waited < 20:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
                waited += 0.05
        assert waited < 20, "the start never waited on the rival attempt"
        Attempt.objects.filter(pk=rival.pk).update(
            status=Attempt.Status.SUBMITTED, submitted_at=now
        )
    thread.join(timeout=30)
    assert outcome, "the start did not finish"
    return outcome[0]


@pytest.mark.django_db(transaction=True)
def test_start_losing_to_a_submitted_last_attempt_is_refused_not_a_500(
    require_postgres: None,
) -> None:
    assessment = make_assessment(max_attempts=1)

    result = _start_while_a_rival_attempt_is_started_and_submitted(assessment)

    assert isinstance(result, services.AttemptRefused), result
    assert "attempt" in " ".join(result.messages)


@pytest.mark.django_db(transaction=True)
def test_start_losing_to_a_submitted_attempt_starts_the_next_one(
    require_postgres: None,
) -> None:
    assessment = make_assessment(max_attempts=2)

    result = _start_while_a_rival_attempt_is_started_and_submitted(assessment)

    assert isinstance(result, Attempt), result
    assert result.number == 2
    assert result.status == Attempt.Status.IN_PROGRESS
    assert result.answers.count() == 2


# --- 2. Answer keys whose pattern is not a regular expression --------------------------------


@pytest.mark.django_db
def test_a_bad_pattern_in_a_short_text_key_is_refused_naming_the_key(db: None) -> None:
    assessment = make_assessment(kinds=[K.SHORT_TEXT])
    question = Question.objects.get(course=assessment.lesson.version.course)
    question.key = {"accepted": ["Interpol"], "pattern": "inter(pol"}

    with pytest.raises(ValidationError) as raised:
        question.full_clean()

    assert "key" in raised.value.message_dict


@pytest.mark.django_db
def test_the_admin_refuses_a_bad_pattern_on_the_key_field(client: Any, db: None) -> None:
    assessment = make_assessment(kinds=[K.SHORT_TEXT])
    course = assessment.lesson.version.course
    category = QuestionCategory.objects.get(course=course)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:assessments_question_add"),
        {
            "course": course.pk,
            "category": category.pk,
            "kind": K.SHORT_TEXT,
            "text": '{"en": "Which organisation?"}',
            "data": "{}",
            "key": '{"accepted": ["Interpol"], "pattern": "inter(pol"}',
            "feedback": "{}",
            "points": "1",
            "tags": "[]",
            "is_active": "on",
        },
    )

    assert response.status_code == 200, response.get("Location")
    assert "key" in response.context["adminform"].form.errors
    assert Question.objects.filter(course=course).count() == 1


@pytest.mark.django_db
def test_a_good_pattern_is_accepted(db: None) -> None:
    assessment = make_assessment(kinds=[K.SHORT_TEXT])
    question = Question.objects.get(course=assessment.lesson.version.course)
    question.full_clean()


def test_grading_a_stored_bad_pattern_is_no_match_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = {"accepted": ["Interpol"], "pattern": "inter(pol"}

    with caplog.at_level(logging.WARNING):
        assert grading.fraction(K.SHORT_TEXT, key, "something else") == 0.0
    assert grading.fraction(K.SHORT_TEXT, key, "interpol") == 1.0
    assert any(record.levelno == logging.WARNING for record in caplog.records)


@pytest.mark.django_db
def test_submitting_a_question_with_a_stored_bad_pattern_grades_it_wrong(db: None) -> None:
    assessment = make_assessment(kinds=[K.SHORT_TEXT, K.NUMERIC])
    course = assessment.lesson.version.course
    Question.objects.filter(course=course, kind=K.SHORT_TEXT).update(
        key={"accepted": ["Interpol"], "pattern": "inter(pol"}
    )
    enrollment = enrol(assessment)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    responses = {
        e["question"]: ("3.5" if e["question"] != _short(course) else "x") for e in attempt.draw
    }

    submission = services.submit_attempt(
        attempt=attempt, actor=enrollment.user, responses=responses
    )

    assert submission.attempt.score == Decimal(1)


def _short(course: Any) -> int:
    return Question.objects.get(course=course, kind=K.SHORT_TEXT).pk


# --- 3. The deadline of an attempt that ends on another day -----------------------------------


@pytest.mark.django_db
def test_the_attempt_page_gives_the_date_of_a_deadline_on_another_day(
    client: Any, db: None
) -> None:
    closes_at = timezone.now() + timedelta(days=3)
    assessment = make_assessment(time_limit_minutes=None, closes_at=closes_at)
    enrollment = enrol(assessment, UserFactory(time_zone="America/Bogota"))
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    assert attempt.deadline == closes_at
    client.force_login(enrollment.user)

    page = client.get(reverse("assessments:take", args=[attempt.pk])).content.decode()

    with timezone.override("America/Bogota"), translation.override("en"):
        day = formats.date_format(timezone.localtime(closes_at), "DATE_FORMAT")
    timer = page.split('id="timer"', 1)[1].split("</p>", 1)[0]
    assert day in timer, timer


@pytest.mark.django_db
def test_the_attempt_page_gives_only_the_time_of_a_deadline_today(client: Any, db: None) -> None:
    # at noon (UTC, the learner's zone): a 30-minute attempt ends the same day
    with time_machine.travel(datetime(2027, 3, 10, 12, 0, tzinfo=UTC), tick=True):
        assessment = make_assessment(time_limit_minutes=30)
        enrollment = enrol(assessment)
        attempt = services.start_attempt(
            assessment=assessment, enrollment=enrollment, actor=enrollment.user
        )
        assert timezone.localdate(attempt.deadline) == timezone.localdate()
        client.force_login(enrollment.user)
        page = client.get(reverse("assessments:take", args=[attempt.pk])).content.decode()
    timer = page.split('id="timer"', 1)[1].split("</p>", 1)[0]
    assert "2027" not in timer, timer
    assert "12:30" in timer, timer
