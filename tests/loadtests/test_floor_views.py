"""The load test's floors (loadtests.views): the minimal view, and the minimal view with one read
of the signed-in learner's own row, which the capacity report compares the pages against."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from loadtests.capacity import _own_row_sentence
from loadtests.views import own_row, ping
from tests.courses.factories import enrol_in_text_course
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _ask(view, user):  # type: ignore[no-untyped-def]
    request = RequestFactory().get("/minimal/own-row/")
    request.user = user
    with CaptureQueriesContext(connection) as queries:
        response = view(request)
    return response, json.loads(response.content), len(queries)


def test_the_ceiling_reads_nothing() -> None:
    response, body, queries = _ask(ping, AnonymousUser())
    assert (response.status_code, body, queries) == (200, {"ok": True}, 0)


def test_one_query_reads_the_signed_in_learners_own_first_enrolment() -> None:
    learner, other = UserFactory(), UserFactory()
    first, _ = enrol_in_text_course(learner)
    enrol_in_text_course(learner)
    enrol_in_text_course(other)
    first.progress_pct = 40
    first.save(update_fields=["progress_pct"])
    response, body, queries = _ask(own_row, learner)
    assert response.status_code == 200
    assert body == {"ok": True, "enrollment": first.pk, "progress": 40}
    assert queries == 1


def test_one_query_for_a_learner_without_enrolments_finds_none() -> None:
    enrol_in_text_course(UserFactory())
    _response, body, queries = _ask(own_row, UserFactory())
    assert body == {"ok": True, "enrollment": None, "progress": None}
    assert queries == 1


def test_one_query_refuses_a_visitor_not_signed_in_without_reading() -> None:
    response, body, queries = _ask(own_row, AnonymousUser())
    assert (response.status_code, body, queries) == (403, {"ok": False}, 0)


def test_the_report_bounds_the_learners_own_pages_by_the_one_query_floor() -> None:
    sentence = _own_row_sentence(
        {"rps": 2000.0},
        {"rps": 1200.0},
        {"lesson, revisit": {"rps": 900.0}, "my learning": {"rps": 600.0}},
    )
    assert "It keeps 60% of the ceiling, so no such page can keep more" in sentence
    assert "lesson, revisit 75%, my learning 50%" in sentence
