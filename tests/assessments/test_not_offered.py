"""Responses no attempt form can send are refused whole, naming the question: an option that
was not offered, a true/false answer that is neither, an answer longer than the text box takes
(it was cut at 20,000 characters while the autosave answered "saved")."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from assessments import services
from assessments.models import Answer, Attempt, Question
from tests.assessments.factories import enrol, make_assessment

pytestmark = pytest.mark.django_db
K = Question.Kind


def _started(kinds: list[str]) -> tuple[Client, Attempt, dict[str, tuple[int, int, list[str]]]]:
    """A learner's attempt in progress, their client, and per kind: (question id, its number on
    the page, the options offered)."""
    assessment = make_assessment(kinds=kinds, time_limit_minutes=None)
    enrollment = enrol(assessment)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    kind_of = dict(Question.objects.filter(pk__in=[e["question"] for e in attempt.draw])
                   .values_list("pk", "kind"))  # fmt: skip
    drawn = {
        kind_of[e["question"]]: (e["question"], n, [str(o) for o in e["options"]])
        for n, e in enumerate(attempt.draw, start=1)
    }
    client = Client()
    client.force_login(enrollment.user)
    return client, attempt, drawn


def _autosave(client: Client, attempt: Attempt, data: dict[str, Any]) -> Any:
    return client.post(
        reverse("assessments:save", args=[attempt.pk]), data, HTTP_ACCEPT="application/json"
    )


def test_an_option_not_offered_is_a_400_naming_the_question_and_nothing_is_saved() -> None:
    client, attempt, drawn = _started([K.SINGLE, K.TRUE_FALSE, K.SHORT_TEXT])
    single, number, options = drawn[K.SINGLE]
    short, _n, _o = drawn[K.SHORT_TEXT]
    response = _autosave(client, attempt, {f"q-{single}": "zzz", f"q-{short}": "kept?"})
    assert response.status_code == 400
    assert response.json() == {
        "saved": False,
        "error": f"Question {number}: choose one of the answers offered.",
        "field": f"q-{single}",
    }
    assert not Answer.objects.filter(attempt=attempt).exclude(response=None).exists()
    true_false, number, _o = drawn[K.TRUE_FALSE]
    response = _autosave(client, attempt, {f"q-{true_false}": "maybe"})
    assert response.status_code == 400
    assert response.json()["field"] == f"q-{true_false}"
    response = _autosave(client, attempt, {f"q-{single}": options[0], f"q-{true_false}": "true"})
    assert response.status_code == 200
    assert response.json()["saved"] is True


def test_a_longer_answer_than_the_box_takes_is_refused_not_cut() -> None:
    client, attempt, drawn = _started([K.SHORT_TEXT])
    short, number, _o = drawn[K.SHORT_TEXT]
    response = _autosave(client, attempt, {f"q-{short}": "a" * 20_001})
    assert response.status_code == 400
    assert response.json()["error"] == (
        f"Question {number}: an answer has at most 20,000 characters."
    )
    assert _autosave(client, attempt, {f"q-{short}": "a" * 20_000}).status_code == 200


def test_a_submit_with_one_is_a_400_page_and_the_attempt_stays_open() -> None:
    client, attempt, drawn = _started([K.MULTIPLE])
    multiple, number, options = drawn[K.MULTIPLE]
    response = client.post(
        reverse("assessments:submit", args=[attempt.pk]), {f"q-{multiple}": [options[0], "x"]}
    )
    assert response.status_code == 400
    assert f"Question {number}: choose one of the answers offered." in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.IN_PROGRESS
