"""Review of the LRS against rules of the xAPI specification the ADL suite does not test."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any
from unittest import mock

import pytest
from django.db import connection

from lms.xapi import documents
from lms.xapi.models import Document
from tests.xapi.conftest import LRS, basic, make_client, post_with_attachment, statement

pytestmark = pytest.mark.django_db

OFFICER = {"objectType": "Agent", "mbox": "mailto:officer@example.org", "name": "Officer"}
TRAINER = {"objectType": "Agent", "mbox": "mailto:trainer@example.org", "name": "Trainer"}
MENTORED = "http://id.tincanapi.com/verb/mentored"


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {s["id"] for s in response.json()["statements"]}


def test_agent_filter_returns_statements_with_the_agent_as_object(lrs: LRS) -> None:
    mentoring = statement(
        actor=TRAINER,
        verb={"id": MENTORED, "display": {"en-US": "mentored"}},
        object=OFFICER,
    )
    as_actor = statement()
    ids = lrs.post("statements", [mentoring, as_actor]).json()
    found = _ids(lrs.get("statements", {"agent": json.dumps({"mbox": OFFICER["mbox"]})}))
    assert found == set(ids)


def test_agent_filter_returns_statements_of_a_group_the_agent_is_member_of(lrs: LRS) -> None:
    team = {
        "objectType": "Group",
        "name": "Patrol team",
        "mbox": "mailto:team@example.org",
        "member": [OFFICER, TRAINER],
    }
    (statement_id,) = lrs.post("statements", statement(actor=team)).json()
    found = _ids(lrs.get("statements", {"agent": json.dumps({"mbox": TRAINER["mbox"]})}))
    assert found == {statement_id}


def test_ids_format_reduces_context_activities_and_agents(lrs: LRS) -> None:
    body = statement(
        context={
            "instructor": TRAINER,
            "contextActivities": {
                "parent": [
                    {
                        "id": "http://example.org/activities/course",
                        "definition": {"name": {"en-US": "Course"}},
                    }
                ]
            },
        }
    )
    lrs.post("statements", body)
    got = lrs.get("statements", {"format": "ids"}).json()["statements"][0]
    assert got["context"]["contextActivities"]["parent"] == [
        {"id": "http://example.org/activities/course"}
    ] or got["context"]["contextActivities"]["parent"] == [
        {"objectType": "Activity", "id": "http://example.org/activities/course"}
    ]
    assert "name" not in got["context"]["instructor"]


def test_canonical_prefers_the_language_of_highest_quality(lrs: LRS) -> None:
    body = statement(verb={"id": MENTORED, "display": {"en-US": "mentored", "es": "tutoró"}})
    lrs.post("statements", body)
    got = lrs.get(
        "statements", {"format": "canonical"}, HTTP_ACCEPT_LANGUAGE="en-US;q=0.1, es;q=0.9"
    ).json()["statements"][0]
    assert got["verb"]["display"] == {"es": "tutoró"}


def test_canonical_leaves_extensions_alone(lrs: LRS) -> None:
    ext = {"http://example.org/ext/unit": {"name": {"first": "Ana", "last": "Silva"}}}
    lrs.post("statements", statement(result={"extensions": ext}))
    got = lrs.get("statements", {"format": "canonical"}, HTTP_ACCEPT_LANGUAGE="es").json()
    assert got["statements"][0]["result"]["extensions"] == ext


@pytest.mark.parametrize(
    ("method", "headers", "statuses"),
    [
        ("put", {"HTTP_IF_NONE_MATCH": "*"}, [204, 412]),
        ("post", {}, [204, 204]),
    ],
)
def test_a_profile_created_twice_at_once_is_decided_not_a_500(
    transactional_db: None,
    institution: Any,
    method: str,
    headers: dict[str, str],
    statuses: list[int],
) -> None:
    """Two requests creating the same document: neither sees it when it looks, both INSERT."""
    client, secret = make_client(institution)
    auth = basic(client.key, secret)
    real = documents._check_preconditions
    both_looked = threading.Barrier(2, timeout=10)
    waited: set[int] = set()

    def racing(xrequest: Any, document: Any, **kwargs: Any) -> None:
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            both_looked.wait()
        real(xrequest, document, **kwargs)

    answers: list[int] = []

    def send(number: int) -> None:
        try:
            caller = LRS(auth)
            call = getattr(caller, method)
            path = "activities/profile?activityId=http://example.org/a&profileId=p1"
            answers.append(call(path, {f"k{number}": number}, **headers).status_code)
        finally:
            connection.close()

    with mock.patch.object(documents, "_check_preconditions", racing):
        threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    assert sorted(answers) == statuses
    document = Document.objects.get(document_id="p1")
    if method == "post":  # both merged, whichever came second
        assert json.loads(bytes(document.content)) == {"k0": 0, "k1": 1}


def test_agent_filter_is_the_actor_or_object_only(lrs: LRS) -> None:
    """Named elsewhere (instructor, a sub-statement) is related_agents=true's reach, not agent's."""
    account = {"homePage": "https://police.example.org", "name": "Officer-7"}
    officer = {"objectType": "Agent", "account": account}
    as_object = statement(
        actor=TRAINER, verb={"id": MENTORED, "display": {"en-US": "mentored"}}, object=officer
    )
    as_instructor = statement(actor=TRAINER, context={"instructor": officer})
    in_team = statement(
        actor={"objectType": "Group", "member": [TRAINER, officer]},
        verb={"id": MENTORED, "display": {"en-US": "mentored"}},
    )
    ids = lrs.post("statements", [as_object, as_instructor, in_team]).json()
    agent = json.dumps({"account": account})
    assert _ids(lrs.get("statements", {"agent": agent})) == {ids[0], ids[2]}
    assert _ids(lrs.get("statements", {"agent": agent, "verb": MENTORED})) == {ids[0], ids[2]}
    assert _ids(lrs.get("statements", {"agent": agent, "related_agents": "true"})) == set(ids)
    # pages over both readings, newest first, each statement once
    first = lrs.get("statements", {"agent": agent, "limit": "1"}).json()
    assert [s["id"] for s in first["statements"]] == [ids[2]]
    second = lrs.client.get(first["more"], **lrs.headers()).json()
    assert [s["id"] for s in second["statements"]] == [ids[0]]
    assert second["more"] == ""


def test_agent_filter_compares_mbox_case_insensitively_as_object(lrs: LRS) -> None:
    upper = dict(OFFICER, mbox="mailto:Officer@Example.org")
    (statement_id,) = lrs.post(
        "statements",
        statement(actor=TRAINER, verb={"id": MENTORED, "display": {"en-US": "m"}}, object=upper),
    ).json()
    found = _ids(lrs.get("statements", {"agent": json.dumps({"mbox": OFFICER["mbox"]})}))
    assert found == {statement_id}


def test_a_learner_reading_by_agent_still_sees_only_their_own(lrs: LRS, learner: Any) -> None:
    from lms.xapi.emit import actor_of

    me = actor_of(learner)
    lrs.post(
        "statements",
        statement(actor=TRAINER, verb={"id": MENTORED, "display": {"en-US": "m"}}, object=me),
    )
    session = LRS(None)
    session.client.force_login(learner)
    agent = json.dumps({"account": me["account"]})
    assert _ids(session.get("statements", {"agent": agent})) == set()


def test_an_anonymous_group_as_agent_filter_is_not_a_500(lrs: LRS) -> None:
    group = {"objectType": "Group", "member": [{"mbox": OFFICER["mbox"]}]}
    response = lrs.get("statements", {"agent": json.dumps(group)})
    assert response.status_code in {200, 400}, response.content


def test_another_institution_cannot_plant_the_content_of_an_attachment(
    lrs: LRS, other_lrs: LRS
) -> None:
    """Attachments are shared by hash across the LRS: a part whose content is not what its hash
    says would be served to the institution that later sends the real content."""
    report = b"incident report 2024-117: use of force justified"
    real_hash = hashlib.sha256(report).hexdigest()
    planted = post_with_attachment(
        other_lrs, real_hash, b"incident report: use of force NOT justified"
    )
    assert planted.status_code == 400, planted.content
    assert planted.json()["error"]["field"] == "multipart[1]"
    (statement_id,) = post_with_attachment(lrs, real_hash, report).json()
    answer = lrs.get("statements", {"statementId": statement_id, "attachments": "true"})
    assert report in answer.content
