"""The emitter contract: statements built with tincan, stored in the caller's transaction, once."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.db import transaction

from lms.xapi.emit import activity_iri, emit
from lms.xapi.models import Statement
from lms.xapi.services import issue_launch_credential
from lms.xapi.verbs import VERBS

pytestmark = pytest.mark.django_db


def test_activity_iri_is_under_the_site_url() -> None:
    assert (
        activity_iri("course", "POL-101") == f"{settings.SITE_URL}/xapi/activities/course/POL-101"
    )


def test_every_verb_has_an_iri_and_four_languages() -> None:
    for key in (
        "registered",
        "launched",
        "experienced",
        "completed",
        "answered",
        "passed",
        "failed",
        "scored",
        "attended",
        "earned",
    ):
        assert VERBS[key]["id"].startswith("http")
        assert {"en-US", "es", "pt", "fr"} <= set(VERBS[key]["display"])


def test_emit_stores_a_complete_statement(learner) -> None:
    registration = uuid.uuid4()
    statement_id = emit(
        actor=learner,
        verb="passed",
        activity_id=activity_iri("assessment", 7),
        activity_name={"en": "Final quiz", "es": "Examen final"},
        activity_type="http://adlnet.gov/expapi/activities/assessment",
        registration=registration,
        result={
            "score_scaled": 0.9,
            "score_raw": 9,
            "score_min": 0,
            "score_max": 10,
            "success": True,
            "completion": True,
            "duration": "PT12M",
        },
        parent_activity_id=activity_iri("course", "POL-101"),
        context_extensions={"https://example.org/ext/run": "R1"},
    )
    row = Statement.objects.get(statement_id=statement_id)
    data = row.data
    assert data["verb"]["id"] == VERBS["passed"]["id"]
    assert data["actor"]["account"] == {"homePage": settings.SITE_URL, "name": str(learner.pk)}
    assert data["result"]["score"]["scaled"] == 0.9
    assert data["result"]["duration"] == "PT12M"
    assert data["context"]["registration"] == str(registration)
    assert data["context"]["contextActivities"]["parent"][0]["id"].endswith("/course/POL-101")
    assert data["stored"]
    assert data["authority"]["account"]["name"] == "lms"
    assert row.registration == registration
    assert row.institution_id == learner.institution_id
    assert row.actor_key == f"account:{settings.SITE_URL}|{learner.pk}"


def test_emitting_the_same_event_twice_stores_once(learner) -> None:
    key = uuid.uuid5(uuid.NAMESPACE_URL, "test-event")
    for _ in range(2):
        emit(
            actor=learner, verb="completed", activity_id=activity_iri("lesson", 1), statement_id=key
        )
    assert Statement.objects.filter(statement_id=key).count() == 1


def test_emit_rolls_back_with_the_callers_transaction(learner) -> None:
    key = uuid.uuid4()

    def failing_event() -> None:
        with transaction.atomic():
            emit(
                actor=learner,
                verb="registered",
                activity_id=activity_iri("course", "X"),
                statement_id=key,
            )
            raise RuntimeError("the event failed")

    with pytest.raises(RuntimeError):
        failing_event()
    assert not Statement.objects.filter(statement_id=key).exists()


def test_launch_credential_names_the_learner_and_registration(learner) -> None:
    registration = uuid.uuid4()
    params = issue_launch_credential(
        user=learner, registration=registration, activity_id="https://content.example.org/a"
    )
    assert params["endpoint"] == f"{settings.SITE_URL}/xapi/"
    assert params["auth"].startswith("Basic ")
    assert params["registration"] == str(registration)
    assert params["actor"]["account"]["name"] == str(learner.pk)
    assert params["activity_id"] == "https://content.example.org/a"


def test_emitting_the_same_event_twice_forwards_it_once(
    learner, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a statement actually stored is forwarded to the institution's LRS: the second emit
    of the same event stores nothing and so forwards nothing (emit_many forwarded it again)."""
    from lms.xapi import tasks
    from lms.xapi.models import ForwardingTarget

    sent: list[tuple[int, list[str]]] = []
    monkeypatch.setattr(tasks.forward_statements, "delay", lambda *args: sent.append(args))
    target = ForwardingTarget.objects.create(
        institution=learner.institution,
        endpoint="http://127.0.0.1:9/xapi",
        username="u",
        password="p",
    )
    key = uuid.uuid5(uuid.NAMESPACE_URL, "test-forwarded-event")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            emit(
                actor=learner,
                verb="completed",
                activity_id=activity_iri("lesson", 1),
                statement_id=key,
            )
    assert sent == [(target.pk, [str(key)])]
    assert Statement.objects.filter(statement_id=key).count() == 1


def test_one_batch_with_the_same_event_twice_stores_and_forwards_it_once(
    learner, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lms.xapi import tasks
    from lms.xapi.emit import emit_many
    from lms.xapi.models import ForwardingTarget

    sent: list[tuple[int, list[str]]] = []
    monkeypatch.setattr(tasks.forward_statements, "delay", lambda *args: sent.append(args))
    target = ForwardingTarget.objects.create(
        institution=learner.institution, endpoint="http://127.0.0.1:9/xapi", username="u"
    )
    key = uuid.uuid5(uuid.NAMESPACE_URL, "test-batched-event")
    event = {"verb": "completed", "activity_id": activity_iri("lesson", 2), "statement_id": key}
    with django_capture_on_commit_callbacks(execute=True):
        assert emit_many([(learner, event), (learner, event)]) == [key, key]
    assert sent == [(target.pk, [str(key)])]
    assert Statement.objects.filter(statement_id=key).count() == 1


class _Person:
    def __init__(self, pk: int, full_name: str) -> None:
        self.pk, self.full_name = pk, full_name


@pytest.mark.parametrize(
    "fields",
    [
        {"verb": "experienced", "activity_id": "https://lms.example/a/1"},
        {
            "verb": "completed",
            "activity_id": "https://lms.example/a/2",
            "activity_name": {"es": "Lección", "en": "Lesson"},
            "activity_type": "http://adlnet.gov/expapi/activities/lesson",
            "registration": uuid.UUID("6F1C2A5E-8C1B-4C57-9B38-6B1E9A0C4D21"),
            "result": {"completion": True},
            "parent_activity_id": "https://lms.example/c/1",
        },
        {
            "verb": "scored",
            "activity_id": "https://lms.example/q/3",
            "result": {
                "score_scaled": 0.75,
                "score_raw": 15,
                "score_max": 20,
                "success": True,
                "duration": "PT1H2M3.5S",
                "response": "b",
            },
        },  # fmt: skip
        {
            "verb": "attended",
            "activity_id": "https://lms.example/s/4",
            "context_extensions": {"https://lms.example/ext/room": "A-12"},
        },
    ],
    ids=["bare", "lesson", "scored", "extensions"],
)
def test_a_statement_from_a_remembered_shape_is_what_tincan_builds(fields: dict) -> None:
    from datetime import UTC, datetime

    from lms.xapi import emit as emitter

    for person in (
        _Person(7, "Ana Pérez"),
        _Person(81, "Jean-Luc D'Arcy"),
        _Person(9, 'São Tomé "Zé" <b>'),
    ):
        for when in (datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
                     datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)):  # fmt: skip
            statement_id = uuid.uuid4()
            built = emitter.build_statement(
                actor=person, statement_id=statement_id, timestamp=when, **fields
            )
            whole = emitter._build_with_tincan(
                person, {**fields, "statement_id": statement_id, "timestamp": when}
            )
            assert built == whole
            assert built["actor"]["account"]["name"] == str(person.pk)


def test_a_shape_is_built_once_and_a_copy_is_never_shared() -> None:
    from lms.xapi import emit as emitter

    emitter._SHAPES.clear()
    fields = {"verb": "launched", "activity_id": "https://lms.example/a/shape"}
    first = emitter.build_statement(actor=_Person(1, "Uno"), **fields)
    first["object"]["id"] = "changed by the caller"
    second = emitter.build_statement(actor=_Person(2, "Dos"), **fields)
    assert len(emitter._SHAPES) == 1
    assert second["object"]["id"] == "https://lms.example/a/shape"
    assert second["actor"]["name"] == "Dos"
    assert first["id"] != second["id"]
