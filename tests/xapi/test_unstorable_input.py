"""The LRS refuses null characters in statements and parameters, and ids longer than it stores (lms/input_guard.py runs in
the API's middleware too): PostgreSQL's jsonb stores none."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from lms.xapi.models import Statement
from tests.xapi.conftest import LRS, statement

pytestmark = pytest.mark.django_db


def test_a_statement_with_one_is_refused_and_nothing_is_stored(lrs: LRS) -> None:
    bad = statement(verb={"id": "http://adlnet.gov/expapi/verbs/experienced",
                          "display": {"en-US": "exp\u0000erienced"}})  # fmt: skip
    response = lrs.post("statements", bad)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"
    assert not Statement.objects.exists()
    text = statement(verb={"id": "http://adlnet.gov/expapi/verbs/experienced",
                           "display": {"en-US": "a \\u0000 b"}})  # fmt: skip
    assert json.dumps(text).count("\\\\u0000") == 1
    assert lrs.post("statements", text).status_code == 200
    assert lrs.get("statements", {"activity": "http://example.org/a\x00"}).status_code == 400


def test_ids_longer_than_the_lrs_stores_are_a_400_naming_the_field(lrs: LRS) -> None:
    long_activity = statement(object={"objectType": "Activity",
                                      "id": "http://example.org/" + "a" * 3000})  # fmt: skip
    response = lrs.post("statements", long_activity)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "object.id"
    long_verb = statement(verb={"id": "http://example.org/" + "v" * 600})
    response = lrs.post("statements", long_verb)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "verb.id"
    assert not Statement.objects.exists()


def test_times_beyond_the_years_1_to_9999_in_utc_are_a_400(lrs: LRS) -> None:
    late = statement(timestamp="9999-12-31T23:59:59-05:00")  # year 10000 in UTC
    response = lrs.post("statements", late)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "timestamp"
    for name, value in (
        ("since", "9999-12-31T23:59:59-05:00"),
        ("until", "0001-01-01T00:00:00+05:00"),
        ("cursor", "9999-12-31T23:59:59-05:00|1"),
    ):
        response = lrs.get("statements", {name: value})
        assert response.status_code == 400, name
        assert response.json()["error"]["field"] == name
    assert lrs.get("statements", {"since": "2026-01-01T00:00:00Z"}).status_code == 200


def test_document_ids_and_times_the_lrs_cannot_store_are_a_400(lrs: LRS) -> None:
    agent = json.dumps({"mbox": "mailto:officer@example.org"})
    where = {"activityId": "http://example.org/act", "agent": agent}
    long_id = "s" * 1025
    response = lrs.put(f"activities/state?{urlencode(where | {'stateId': long_id})}", {"a": 1})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "stateId"
    response = lrs.get("activities/state", where | {"since": "9999-12-31T23:59:59-05:00"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "since"
    ok = lrs.put(f"activities/state?{urlencode(where | {'stateId': 's' * 1024})}", {"a": 1})
    assert ok.status_code == 204
