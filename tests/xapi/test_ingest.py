"""Batch ingestion: a constant number of queries whatever the batch size, COPY's all-or-nothing,
idempotency and conflicts, and courses' statements_stored listener working set-based."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.models import Enrollment, Lesson, LessonProgress
from lms.xapi import store
from lms.xapi.models import Statement
from tests.courses.factories import RunFactory
from tests.factories import InstitutionFactory, UserFactory
from tests.xapi.conftest import LRS, basic, make_client, statement

pytestmark = pytest.mark.django_db

PASSED = "http://adlnet.gov/expapi/verbs/passed"


def _batch(size: int) -> list[dict[str, Any]]:
    return [
        statement(
            actor={"mbox": f"mailto:officer{number}@example.org"},
            context={"registration": str(uuid.uuid4())},
        )
        for number in range(size)
    ]


def _queries_to_post(lrs: LRS, body: Any, capture: Any) -> int:
    with CaptureQueriesContext(connection) as queries, capture(execute=True):
        response = lrs.post("statements", body)
    assert response.status_code == 200, response.content
    return len(queries)


def test_a_batch_costs_the_same_queries_whatever_its_size(
    lrs: LRS, django_capture_on_commit_callbacks: Any, require_postgres: None
) -> None:
    small = _queries_to_post(lrs, _batch(5), django_capture_on_commit_callbacks)
    large = _queries_to_post(lrs, _batch(300), django_capture_on_commit_callbacks)
    assert large == small
    assert large <= 12
    assert Statement.objects.count() == 305


def test_the_same_batch_twice_stores_once_and_answers_the_same_ids(lrs: LRS) -> None:
    batch = [dict(s, id=str(uuid.uuid4())) for s in _batch(20)]
    first = lrs.post("statements", batch).json()
    again = lrs.post("statements", batch).json()
    assert first == again == [s["id"] for s in batch]
    assert Statement.objects.count() == 20


def test_a_conflict_anywhere_in_a_batch_stores_none_of_it(lrs: LRS) -> None:
    taken = str(uuid.uuid4())
    assert lrs.put(f"statements?statementId={taken}", statement()).status_code == 204
    changed = statement(id=taken, verb={"id": "http://adlnet.gov/expapi/verbs/failed"})
    response = lrs.post("statements", [*_batch(10), changed])
    assert response.status_code == 409
    assert Statement.objects.count() == 1
    assert Statement.objects.get().verb_id.endswith("/completed")


def test_an_id_stored_by_another_request_meanwhile_is_a_409_and_rolls_back(
    lrs: LRS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the duplicate check cannot see: COPY meets the unique index and fails whole."""
    taken = str(uuid.uuid4())
    assert lrs.put(f"statements?statementId={taken}", statement()).status_code == 204
    # As if the other request committed between our duplicate check and our COPY.
    monkeypatch.setattr(store, "stored_data", lambda ids: {})
    response = lrs.post("statements", [*_batch(10), statement(id=taken)])
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "id"
    assert Statement.objects.count() == 1


def test_voiding_in_a_batch_marks_the_target(lrs: LRS) -> None:
    target = lrs.post("statements", statement()).json()[0]
    voiding = statement(
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": target},
    )
    assert lrs.post("statements", [*_batch(3), voiding]).status_code == 200
    assert Statement.objects.get(statement_id=target).voided is True
    assert lrs.get("statements", {"statementId": target}).status_code == 404


def _xapi_lesson_run() -> tuple[Any, Lesson]:
    run = RunFactory()
    lesson = Lesson.objects.filter(version=run.version).order_by("position").first()
    assert lesson is not None
    lesson.kind = Lesson.Kind.XAPI
    lesson.requires_pass = True
    lesson.activity_id = "https://content.example.org/activities/use-of-force"
    lesson.save()
    return run, lesson


def _result_statement(user: Any, enrollment: Enrollment, activity_id: str) -> dict[str, Any]:
    return statement(
        actor={"mbox": f"mailto:{user.email}"},
        verb={"id": PASSED},
        object={"id": activity_id},
        result={"score": {"scaled": 0.75}, "success": True, "completion": True},
        context={"registration": str(enrollment.registration)},
    )


def test_a_batch_of_results_updates_each_learners_progress_once(
    lrs: LRS, institution: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run, lesson = _xapi_lesson_run()
    learners = [UserFactory(institution=institution) for _ in range(3)]
    enrollments = [
        Enrollment.objects.create(user=user, run=run, version=run.version) for user in learners
    ]
    batch = [
        _result_statement(user, enrollment, lesson.activity_id)
        for user, enrollment in zip(learners, enrollments, strict=True)
    ]
    # Someone else's statement in a learner's registration changes nothing: a registration is
    # not a credential.
    intruder = _result_statement(UserFactory(), enrollments[0], lesson.activity_id)
    intruder["result"] = {"score": {"scaled": 0.1}, "success": False}
    batch += [intruder, *_batch(20)]
    with django_capture_on_commit_callbacks(execute=True):
        assert lrs.post("statements", batch).status_code == 200
    progress = LessonProgress.objects.filter(lesson=lesson).order_by("enrollment_id")
    assert [(p.status, p.passed, str(p.score_pct)) for p in progress] == [
        ("completed", True, "75.00")
    ] * 3
    # The same results sent again (new statement ids) find nothing to change: three queries
    # (enrolments, lessons, progress) for the listener, and no progress written.
    resent = [{k: v for k, v in s.items() if k != "id"} for s in batch]
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert lrs.post("statements", resent).status_code == 200
    writes = [q["sql"] for q in queries if "courses_lessonprogress" in q["sql"]]
    assert len(writes) == 1
    assert writes[0].startswith("SELECT")


def test_a_failed_result_then_a_pass_in_one_batch_ends_passed(
    lrs: LRS, learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run, lesson = _xapi_lesson_run()
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    failed = _result_statement(learner, enrollment, lesson.activity_id)
    failed["verb"] = {"id": "http://adlnet.gov/expapi/verbs/failed"}
    failed["result"] = {"score": {"scaled": 0.3}, "success": False}
    passed = _result_statement(learner, enrollment, lesson.activity_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert lrs.post("statements", [failed, passed]).status_code == 200
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson=lesson)
    assert (progress.status, progress.passed, str(progress.score_pct)) == (
        "completed",
        True,
        "75.00",
    )


def test_an_institution_client_reads_its_units_statements_in_four_queries(
    lrs: LRS, institution: Any, django_assert_max_num_queries: Any
) -> None:
    unit = InstitutionFactory(parent=institution, member_state=institution.member_state)
    unit_client, unit_secret = make_client(unit)
    unit_lrs = LRS(basic(unit_client.key, unit_secret))
    from_unit = unit_lrs.post("statements", statement()).json()[0]
    from_parent = lrs.post("statements", statement()).json()[0]
    agent = '{"mbox": "mailto:officer@example.org"}'
    params = {"agent": agent, "verb": "http://adlnet.gov/expapi/verbs/completed"}
    # One query authenticates (client and institution), one reads the statements whose actor
    # is the agent (its index), one those naming it as object or group member (related_agents'
    # index), one those that target them by StatementRef: however many statements there are.
    with django_assert_max_num_queries(4):
        seen = {s["id"] for s in lrs.get("statements", params).json()["statements"]}
    assert seen == {from_unit, from_parent}
    # A unit does not read upwards.
    below = {s["id"] for s in unit_lrs.get("statements", params).json()["statements"]}
    assert below == {from_unit}
