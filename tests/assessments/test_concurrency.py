"""Idempotent submission and start under concurrent requests (threads on PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from assessments import services
from assessments.models import Attempt, GradeChange
from tests.assessments.factories import enrol, make_assessment

pytestmark = pytest.mark.django_db(transaction=True)


def _race(count: int, work: Callable[[], Any]) -> list[Any]:
    """Run `work` in `count` threads released together; each thread uses its own connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            outcome: Any = work()
        except Exception as error:  # noqa: BLE001 - reported to the test
            outcome = error
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_submits_make_one_submission(require_postgres: None) -> None:
    assessment = make_assessment()
    enrollment = enrol(assessment)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    responses = {e["question"]: ("b" if e["options"] else "3.5") for e in attempt.draw}

    results = _race(
        6,
        lambda: services.submit_attempt(
            attempt=attempt, actor=enrollment.user, responses=responses
        ),
    )

    assert all(isinstance(result, services.Submission) for result in results), results
    assert sum(1 for result in results if result.created) == 1
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.RELEASED
    assert attempt.score == 2
    assert not GradeChange.objects.exists()


def test_concurrent_starts_make_one_attempt(require_postgres: None) -> None:
    assessment = make_assessment()
    enrollment = enrol(assessment)

    results = _race(
        6,
        lambda: (
            services.start_attempt(
                assessment=assessment, enrollment=enrollment, actor=enrollment.user
            ).pk
        ),
    )

    assert all(isinstance(result, int) for result in results), results
    assert len(set(results)) == 1
    assert Attempt.objects.filter(enrollment=enrollment).count() == 1


def test_two_instructors_recording_the_same_new_officers_make_one_attempt_each(
    require_postgres: None,
) -> None:
    from tests.assessments.factories import practical_evaluation
    from tests.factories import UserFactory

    instructor = UserFactory()
    assessment, run, question, officers = practical_evaluation(instructor, 5)
    marks = {officer.pk: {question.pk: {"c1"}} for officer in officers}

    results = _race(
        2,
        lambda: services.record_practical(
            assessment=assessment, run=run, actor=instructor, marks=marks
        ),
    )

    assert results == [5, 5], results
    assert Attempt.objects.filter(assessment=assessment).count() == 5
    assert {
        attempt.answers.count() for attempt in Attempt.objects.filter(assessment=assessment)
    } == {1}
    # The second saw the same marks already recorded: no second history entry.
    assert GradeChange.objects.filter(attempt__assessment=assessment).count() == 5
