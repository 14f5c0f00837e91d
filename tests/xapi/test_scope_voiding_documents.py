"""Voiding and documents stay within what the caller may read (QA: a learner voided another
institution's statement; a learner deleted an activity profile; an "own" client read another
writer's state).

Voiding: only an LRS client voids, and only a target it may read (the rule of GET,
views._visible). A learner (session or launch credential) voids nothing: 403 with one message,
whatever the target, their own statements and the platform's about them included (cmi5 6.3:
content gets no credential that voids). An LRS client's voiding statement of a target it
cannot read is stored and voids nothing, answered as a voiding statement of an absent target is
(200: xAPI 1.0.3 Data 2.3.2, XAPI-00019 of the ADL suite): neither answer tells whether the
target exists. A statement id stored out of the caller's reach is a 409 with one message,
whatever the stored statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lms.xapi.emit import activity_iri, emit
from lms.xapi.models import Document, Statement
from lms.xapi.services import issue_launch_credential
from lms.xapi.verbs import VOIDED_IRI
from tests.factories import UserFactory
from tests.xapi.conftest import LRS, basic, clear_buffer_keys, make_client, statement

pytestmark = pytest.mark.django_db

ACTIVITY = "http://example.org/activities/patrol"


def _voiding(target: str, **overrides: Any) -> dict[str, Any]:
    return statement(
        verb={"id": VOIDED_IRI, "display": {"en-US": "voided"}},
        object={"objectType": "StatementRef", "id": target},
        **overrides,
    )


def _session(user: Any) -> LRS:
    """The LRS as content inside the LMS calls it: the learner's session, no Authorization."""
    caller = LRS(None)
    caller.client.force_login(user)
    return caller


def _officers_answer(officer: Any) -> str:
    """A platform statement about `officer`, with an id as predictable as the assessments'."""
    return str(
        emit(
            actor=officer,
            verb="answered",
            activity_id=activity_iri("question", 7),
            result={"score_raw": 1.0, "score_min": 0.0, "score_max": 1.0, "success": True},
            statement_id=uuid.uuid5(uuid.NAMESPACE_URL, f"answered:{officer.pk}:1"),
        )
    )


def _me(user: Any) -> dict[str, Any]:
    from lms.xapi.emit import actor_of

    return actor_of(user)


# Voiding by a learner --------------------------------------------------------------------------


def test_a_learner_cannot_void_another_institutions_statement(
    learner: Any, other_institution: Any
) -> None:
    target = _officers_answer(UserFactory(institution=other_institution))
    session = _session(learner)
    response = session.post("statements", _voiding(target, actor=_me(learner)))
    assert response.status_code == 403, response.content
    assert Statement.objects.get(statement_id=target).voided is False
    assert not Statement.objects.filter(verb_id=VOIDED_IRI).exists()
    # the same answer for an id that is stored nowhere: nothing tells the target exists
    absent = session.post("statements", _voiding(str(uuid.uuid4()), actor=_me(learner)))
    assert absent.status_code == 403
    assert absent.json() == response.json()


def test_a_learner_cannot_void_a_colleagues_statement(learner: Any, institution: Any) -> None:
    target = _officers_answer(UserFactory(institution=institution))
    response = _session(learner).post("statements", _voiding(target, actor=_me(learner)))
    assert response.status_code == 403
    assert Statement.objects.get(statement_id=target).voided is False


def test_a_learner_voids_nothing_not_even_their_own_statements(learner: Any) -> None:
    """Neither what their content sent nor what the platform recorded about them (a grade, a
    completion): the same actor and authority, and neither is the learner's to erase."""
    session = _session(learner)
    mine = session.post("statements", statement(actor=_me(learner))).json()[0]
    platform = _officers_answer(learner)
    answers = [
        session.post("statements", _voiding(target, actor=_me(learner)))
        for target in (mine, platform)
    ]
    assert [answer.status_code for answer in answers] == [403, 403]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["error"]["field"] == "verb.id"
    assert Statement.objects.filter(statement_id__in=[mine, platform], voided=True).count() == 0
    assert not Statement.objects.filter(verb_id=VOIDED_IRI).exists()
    assert session.get("statements", {"statementId": mine}).status_code == 200


def test_a_learners_refusal_to_void_is_in_their_language(learner: Any) -> None:
    learner.preferred_language = "es"
    learner.save(update_fields=["preferred_language"])
    session = _session(learner)
    mine = session.post("statements", statement(actor=_me(learner))).json()[0]
    response = session.post(
        "statements", _voiding(mine, actor=_me(learner)), HTTP_ACCEPT_LANGUAGE="es"
    )
    assert response.status_code == 403
    assert response.json()["error"]["rule"] == "esta credencial no puede anular declaraciones"


def test_launched_content_voids_nothing(learner: Any, lrs: LRS) -> None:
    """cmi5 6.3: the content a learner launches holds no credential that voids, in its own
    registration or out of it; the institution's LRS client does."""
    params = issue_launch_credential(
        user=learner, registration=uuid.uuid4(), activity_id="http://example.org/a"
    )
    launched = LRS(params["auth"])
    mine = launched.post("statements", statement(actor=params["actor"])).json()[0]
    elsewhere = _officers_answer(learner)
    for target in (mine, elsewhere):
        refused = launched.post("statements", _voiding(target, actor=params["actor"]))
        assert refused.status_code == 403, refused.content
    assert Statement.objects.filter(statement_id__in=[mine, elsewhere], voided=True).count() == 0
    assert lrs.post("statements", _voiding(mine)).status_code == 200
    assert Statement.objects.get(statement_id=mine).voided is True


def test_a_voiding_statement_out_of_reach_is_not_revealed_by_voiding_it(
    learner: Any, other_lrs: LRS
) -> None:
    """The answer "a voiding statement cannot be voided" was given of another institution's."""
    target = other_lrs.post("statements", statement()).json()[0]
    voiding = other_lrs.post("statements", _voiding(target)).json()[0]
    session = _session(learner)
    response = session.post("statements", _voiding(voiding, actor=_me(learner)))
    assert response.status_code == 403
    absent = session.post("statements", _voiding(str(uuid.uuid4()), actor=_me(learner)))
    assert response.json() == absent.json()


def test_a_batch_with_a_refused_voiding_statement_stores_nothing(
    learner: Any, other_institution: Any
) -> None:
    target = _officers_answer(UserFactory(institution=other_institution))
    before = Statement.objects.count()
    batch = [statement(actor=_me(learner)), _voiding(target, actor=_me(learner))]
    assert _session(learner).post("statements", batch).status_code == 403
    assert Statement.objects.count() == before
    assert Statement.objects.get(statement_id=target).voided is False


# Voiding by an LRS client ----------------------------------------------------------------------


def test_a_client_voids_its_institutions_statements(lrs: LRS, learner: Any) -> None:
    """The full-scope client of the institution voids any statement of it (ADL conformance)."""
    target = _officers_answer(learner)
    assert lrs.post("statements", _voiding(target)).status_code == 200
    assert Statement.objects.get(statement_id=target).voided is True


def test_a_client_cannot_void_another_institutions_statement(other_lrs: LRS, learner: Any) -> None:
    target = _officers_answer(learner)
    response = other_lrs.post("statements", _voiding(target))
    absent = other_lrs.post("statements", _voiding(str(uuid.uuid4())))
    # answered as a voiding statement of an absent target is (XAPI-00019): nothing revealed
    assert response.status_code == absent.status_code == 200
    assert Statement.objects.get(statement_id=target).voided is False
    assert other_lrs.get("statements", {"voidedStatementId": target}).status_code == 404


def test_an_own_scope_client_cannot_void_another_clients_statement(
    lrs: LRS, institution: Any
) -> None:
    client, secret = make_client(institution, scope="own")
    own = LRS(basic(client.key, secret))
    theirs = lrs.post("statements", statement()).json()[0]
    mine = own.post("statements", statement()).json()[0]
    assert own.post("statements", _voiding(theirs)).status_code == 200
    assert Statement.objects.get(statement_id=theirs).voided is False
    assert own.post("statements", _voiding(mine)).status_code == 200
    assert Statement.objects.get(statement_id=mine).voided is True


def test_a_visible_voiding_statement_still_cannot_be_voided(lrs: LRS) -> None:
    target = lrs.post("statements", statement()).json()[0]
    voiding = lrs.post("statements", _voiding(target)).json()[0]
    response = lrs.post("statements", _voiding(voiding))
    assert response.status_code == 400
    assert response.json()["error"]["rule"] == "a voiding statement cannot be voided"


# Ids stored out of reach -----------------------------------------------------------------------


def test_an_id_stored_out_of_reach_is_one_conflict_whatever_the_statement(
    lrs: LRS, other_lrs: LRS
) -> None:
    body = statement()
    statement_id = lrs.post("statements", body).json()[0]
    same = other_lrs.put(f"statements?statementId={statement_id}", body)
    different = other_lrs.put(
        f"statements?statementId={statement_id}",
        statement(verb={"id": "http://adlnet.gov/expapi/verbs/failed"}),
    )
    assert same.status_code == different.status_code == 409
    assert same.json() == different.json()
    assert "different" not in same.json()["message"]
    # the writer's own conflict keeps its detail (xAPI: 409 for a different statement)
    own = lrs.put(
        f"statements?statementId={statement_id}",
        statement(verb={"id": "http://adlnet.gov/expapi/verbs/failed"}),
    )
    assert own.status_code == 409
    assert own.json()["error"]["rule"] == "a different statement with this id is already stored"
    assert lrs.put(f"statements?statementId={statement_id}", body).status_code == 204


def test_a_learner_reusing_an_id_out_of_reach_gets_the_same_conflict(
    learner: Any, other_institution: Any
) -> None:
    target = _officers_answer(UserFactory(institution=other_institution))
    session = _session(learner)
    response = session.put(f"statements?statementId={target}", statement(actor=_me(learner)))
    assert response.status_code == 409
    assert response.json()["error"]["rule"] == "a statement with this id is already stored"
    # their own statement sent again is still accepted, a different one still named different
    mine = statement(actor=_me(learner), id=str(uuid.uuid4()))
    assert session.post("statements", mine).status_code == 200
    assert session.post("statements", mine).status_code == 200
    changed = dict(mine, verb={"id": "http://adlnet.gov/expapi/verbs/failed"})
    different = session.post("statements", changed)
    assert different.status_code == 409
    assert different.json()["error"]["rule"] == (
        "a different statement with this id is already stored"
    )


# The buffered ingest -------------------------------------------------------------------------


@pytest.fixture
def buffered(settings: Any, monkeypatch: pytest.MonkeyPatch, require_redis: str) -> Iterator[None]:
    from lms.xapi import tasks

    settings.LMS_XAPI_BUFFERED = True
    clear_buffer_keys()
    monkeypatch.setattr(tasks.drain_statements, "apply_async", lambda *a, **k: None)
    yield
    clear_buffer_keys()


def test_buffered_launched_content_voids_nothing(buffered: None, learner: Any, lrs: LRS) -> None:
    from lms.xapi import buffer

    params = issue_launch_credential(
        user=learner, registration=uuid.uuid4(), activity_id="http://example.org/a"
    )
    launched = LRS(params["auth"])
    mine = launched.post("statements", statement(actor=params["actor"])).json()[0]
    colleague = lrs.post("statements", statement()).json()[0]  # the institution's, not theirs
    response = launched.post("statements", _voiding(colleague, actor=params["actor"]))
    assert response.status_code == 403
    assert buffer.drain_now() == 0  # nothing was queued for the drain to void with
    assert Statement.objects.get(statement_id=colleague).voided is False
    assert launched.post("statements", _voiding(mine, actor=params["actor"])).status_code == 403
    assert buffer.drain_now() == 0
    assert Statement.objects.get(statement_id=mine).voided is False  # stored, not voided
    assert not Statement.objects.filter(verb_id=VOIDED_IRI).exists()


# Documents -------------------------------------------------------------------------------------

PROFILE = {"activityId": ACTIVITY, "profileId": "config"}


def _query(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def test_a_learner_reads_activity_profiles_but_does_not_change_them(lrs: LRS, learner: Any) -> None:
    query = "activities/profile?" + _query(PROFILE)
    assert lrs.put(query, {"passing": 80}, HTTP_IF_NONE_MATCH="*").status_code == 204
    session = _session(learner)
    read = session.get("activities/profile", PROFILE)
    assert read.status_code == 200
    assert read.json() == {"passing": 80}
    assert session.delete(query).status_code == 403
    assert session.put(query, {"passing": 0}, HTTP_IF_MATCH=read["ETag"]).status_code == 403
    assert session.post(query, {"passing": 0}).status_code == 403
    new = "activities/profile?" + _query({**PROFILE, "profileId": "new"})
    assert session.put(new, {"x": 1}, HTTP_IF_NONE_MATCH="*").status_code == 403
    assert lrs.get("activities/profile", PROFILE).json() == {"passing": 80}
    assert not Document.objects.filter(document_id="new").exists()


def test_launched_content_does_not_change_activity_profiles(lrs: LRS, learner: Any) -> None:
    query = "activities/profile?" + _query(PROFILE)
    assert lrs.put(query, {"passing": 80}, HTTP_IF_NONE_MATCH="*").status_code == 204
    params = issue_launch_credential(
        user=learner, registration=uuid.uuid4(), activity_id="http://example.org/a"
    )
    launched = LRS(params["auth"])
    assert launched.get("activities/profile", PROFILE).status_code == 200
    assert launched.delete(query).status_code == 403
    assert Document.objects.filter(document_id="config").exists()


def _state(agent: dict[str, Any]) -> dict[str, str]:
    import json

    return {"activityId": ACTIVITY, "agent": json.dumps(agent), "stateId": "bookmark"}


def test_an_own_scope_client_reads_only_the_documents_it_wrote(
    lrs: LRS, learner: Any, institution: Any
) -> None:
    agent = _me(learner)
    state = "activities/state?" + _query(_state(agent))
    assert lrs.put(state, {"page": 12}).status_code == 204
    client, secret = make_client(institution, scope="own")
    own = LRS(basic(client.key, secret))
    assert own.get("activities/state", _state(agent)).status_code == 404
    listed = own.get("activities/state", {"activityId": ACTIVITY, "agent": _state(agent)["agent"]})
    assert listed.json() == []
    assert own.delete(state).status_code == 204
    assert lrs.get("activities/state", _state(agent)).json() == {"page": 12}  # not deleted
    # what it writes is its own, and read back by it
    assert own.put(state, {"page": 3}).status_code == 204
    assert own.get("activities/state", _state(agent)).json() == {"page": 3}
    assert lrs.get("activities/state", _state(agent)).json() == {"page": 12}
    # the same for the activity and agent profiles
    profile = "activities/profile?" + _query(PROFILE)
    assert lrs.put(profile, {"passing": 80}, HTTP_IF_NONE_MATCH="*").status_code == 204
    assert own.get("activities/profile", PROFILE).status_code == 404
    agent_profile = {"agent": _state(agent)["agent"], "profileId": "prefs"}
    assert (
        lrs.put(
            "agents/profile?" + _query(agent_profile), {"lang": "pt"}, HTTP_IF_NONE_MATCH="*"
        ).status_code
        == 204
    )
    assert own.get("agents/profile", agent_profile).status_code == 404


def test_another_own_scope_client_does_not_read_the_first_ones_documents(
    learner: Any, institution: Any
) -> None:
    first_client, first_secret = make_client(institution, scope="own")
    second_client, second_secret = make_client(institution, scope="own")
    first, second = (
        LRS(basic(first_client.key, first_secret)),
        LRS(basic(second_client.key, second_secret)),
    )
    state = "activities/state?" + _query(_state(_me(learner)))
    assert first.put(state, {"page": 1}).status_code == 204
    assert second.get("activities/state", _state(_me(learner))).status_code == 404
    assert second.post(state, {"page": 2}).status_code == 204
    assert first.get("activities/state", _state(_me(learner))).json() == {"page": 1}
    assert second.get("activities/state", _state(_me(learner))).json() == {"page": 2}


def test_a_learner_reads_only_their_own_state(learner: Any, institution: Any, lrs: LRS) -> None:
    colleague = UserFactory(institution=institution)
    lrs.put("activities/state?" + _query(_state(_me(colleague))), {"page": 9})
    response = _session(learner).get("activities/state", _state(_me(colleague)))
    assert response.status_code == 403
