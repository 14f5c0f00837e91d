"""The tincan package's RemoteLRS, a real client, against the running server."""

from __future__ import annotations

from typing import Any

import pytest
from tincan import (
    Activity,
    Agent,
    RemoteLRS,
    StateDocument,
    Statement,
    StatementRef,
    Verb,
)

from tests.xapi.conftest import make_client


@pytest.fixture
def remote(live_server: Any, institution: Any) -> RemoteLRS:
    client, secret = make_client(institution)
    return RemoteLRS(
        endpoint=live_server.url + "/xapi/", username=client.key, password=secret, version="1.0.3"
    )


AGENT = Agent(mbox="mailto:remote@example.org", name="Remote Officer")
ACTIVITY = Activity(id="http://example.org/activities/remote")
COMPLETED = Verb(id="http://adlnet.gov/expapi/verbs/completed")


def test_remote_lrs_saves_retrieves_queries_and_voids(remote: RemoteLRS) -> None:
    about = remote.about()
    assert about.success
    assert "1.0.3" in about.content.version

    saved = remote.save_statement(Statement(actor=AGENT, verb=COMPLETED, object=ACTIVITY))
    assert saved.success, saved.data
    statement_id = saved.content.id
    batch = remote.save_statements(
        [Statement(actor=AGENT, verb=COMPLETED, object=ACTIVITY) for _ in range(3)]
    )
    assert batch.success, batch.data

    retrieved = remote.retrieve_statement(statement_id)
    assert retrieved.success
    assert str(retrieved.content.id) == str(statement_id)
    assert retrieved.content.stored is not None

    query = remote.query_statements({"agent": AGENT, "verb": COMPLETED, "limit": 2})
    assert query.success
    assert len(query.content.statements) == 2
    more = remote.more_statements(query.content)
    assert more.success
    assert len(more.content.statements) == 2

    voiding = Statement(
        actor=AGENT,
        verb=Verb(id="http://adlnet.gov/expapi/verbs/voided"),
        object=StatementRef(id=statement_id),
    )
    assert remote.save_statement(voiding).success
    assert not remote.retrieve_statement(statement_id).success
    voided = remote.retrieve_voided_statement(statement_id)
    assert voided.success
    assert str(voided.content.id) == str(statement_id)


def test_remote_lrs_reads_and_writes_state(remote: RemoteLRS) -> None:
    # tincan's save_state leaves out the registration, so this state has none.
    document = StateDocument(
        activity=ACTIVITY,
        agent=AGENT,
        id="bookmark",
        content='{"page": 3}',
        content_type="application/json",
    )
    assert remote.save_state(document).success
    read = remote.retrieve_state(ACTIVITY, AGENT, "bookmark")
    assert read.success
    assert bytes(read.content.content) == b'{"page": 3}'
    ids = remote.retrieve_state_ids(ACTIVITY, AGENT)
    assert ids.content == ["bookmark"]
    assert remote.delete_state(read.content).success
    # tincan reports a 404 of a document as success with no content.
    gone = remote.retrieve_state(ACTIVITY, AGENT, "bookmark")
    assert gone.response.status == 404
