"""Two rules of xAPI 1.0.3 the ADL suite checks (XAPI-00162, XAPI-00169)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.xapi.conftest import LRS, statement

pytestmark = pytest.mark.django_db

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def _ids(lrs: LRS, params: dict[str, str]) -> list[str]:
    response = lrs.get("statements", params)
    assert response.status_code == 200, response.content
    return [s["id"] for s in response.json()["statements"]]


def test_a_query_matching_a_voided_statement_returns_the_statements_targeting_it(
    lrs: LRS,
) -> None:
    """XAPI-00162: not the voided statement, but its voiding statement and other StatementRefs."""
    verb = f"http://example.org/verbs/{uuid.uuid4()}"
    since = (timezone.now() - timedelta(seconds=5)).isoformat()
    voided = lrs.post("statements", statement(verb={"id": verb})).json()[0]
    voiding = lrs.post(
        "statements",
        statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": voided}),
    ).json()[0]
    referring = lrs.post(
        "statements",
        statement(verb={"id": verb}, object={"objectType": "StatementRef", "id": voided}),
    ).json()[0]
    unrelated = lrs.post("statements", statement()).json()[0]
    until = (timezone.now() + timedelta(seconds=5)).isoformat()
    for extra in ({}, {"since": since}, {"until": until}):
        ids = _ids(lrs, {"verb": verb, **extra})
        assert set(ids) == {voiding, referring}, extra
        assert ids == [referring, voiding]  # newest first, one order across both kinds
    # The window applies to the targeting statements too.
    assert _ids(lrs, {"verb": verb, "until": since}) == []
    # Paging across the two kinds of results.
    first = lrs.get("statements", {"verb": verb, "limit": "1"}).json()
    assert [s["id"] for s in first["statements"]] == [referring]
    second = lrs.client.get(first["more"], **lrs.headers()).json()
    assert [s["id"] for s in second["statements"]] == [voiding]
    assert second["more"] == ""
    assert unrelated not in _ids(lrs, {"verb": verb})


def test_targeting_statements_of_another_institution_stay_hidden(lrs: LRS, other_lrs: LRS) -> None:
    verb = f"http://example.org/verbs/{uuid.uuid4()}"
    target = lrs.post("statements", statement(verb={"id": verb})).json()[0]
    other_lrs.post(
        "statements",
        statement(verb={"id": verb}, object={"objectType": "StatementRef", "id": target}),
    )
    assert _ids(lrs, {"verb": verb}) == [target]


def test_canonical_format_prefers_the_exact_language_tag_inside_a_substatement(lrs: LRS) -> None:
    """XAPI-00169: Accept-Language en-GB picks "en-GB", not the "en" listed before it."""
    definition = {
        "name": {"en": "Other", "en-GB": "attended GB", "en-US": "attended US"},
        "description": {"en-US": "Mark Franklin US", "en-GB": "Mark Franklin GB"},
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
        "moreInfo": "http://example.com/345256",
        "interactionType": "other",
        "correctResponsesPattern": ["(35.9,-86.8)"],
        "extensions": {"http://example.com/ext/location": "X:\\meetings"},
    }
    activity = {
        "objectType": "Activity",
        "id": "http://example.com/unicode",
        "definition": definition,
    }
    sub = {
        "objectType": "SubStatement",
        "actor": {"objectType": "Group", "name": "Group", "mbox": "mailto:group@example.org"},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/attended",
            "display": {"en-US": "a", "en-GB": "b"},
        },
        "object": activity,
    }
    statement_id = lrs.post("statements", statement(object=sub)).json()[0]
    response = lrs.get(
        "statements",
        {"statementId": statement_id, "format": "canonical"},
        HTTP_ACCEPT_LANGUAGE="en-GB",
    ).json()
    expected: dict[str, Any] = {
        **definition,
        "name": {"en-GB": "attended GB"},
        "description": {"en-GB": "Mark Franklin GB"},
    }
    assert response["object"]["object"] == {**activity, "definition": expected}
    assert response["object"]["verb"]["display"] == {"en-GB": "b"}
    # Only a primary language asked: the first tag of that language.
    primary_only = lrs.get(
        "statements",
        {"statementId": statement_id, "format": "canonical"},
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()
    assert primary_only["object"]["object"]["definition"]["name"] == {"en": "Other"}
