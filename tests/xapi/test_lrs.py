"""The LRS resources: every MUST we implement, bad input refused with nothing stored, scoping."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from lms.xapi.models import ForwardingFailure, ForwardingTarget, LaunchCredential, Statement
from lms.xapi.services import issue_launch_credential
from tests.xapi.conftest import (
    LRS,
    basic,
    make_client,
    post_with_attachment,
    statement,
    stored_batches,
)

pytestmark = pytest.mark.django_db


def test_every_answer_carries_the_version_header(lrs: LRS) -> None:
    assert lrs.get("about")["X-Experience-API-Version"] == "1.0.3"
    assert lrs.get("statements")["X-Experience-API-Version"] == "1.0.3"


def test_missing_or_wrong_version_header_is_refused_and_nothing_stored(lrs: LRS) -> None:
    response = lrs.post("statements", statement(), version=False)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "X-Experience-API-Version"
    wrong = lrs.post("statements", statement(), HTTP_X_EXPERIENCE_API_VERSION="0.95")
    assert wrong.status_code == 400
    assert not Statement.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        (statement(verb={"id": "not an iri"}), "verb.id"),
        (statement(id="1234"), "id"),
        (statement(actor={"mbox": "officer@example.org"}), "actor.mbox"),
        (statement(result={"score": {"scaled": 2}}), "result.score.scaled"),
        (statement(extra=1), "statement.extra"),
    ],
)
def test_bad_statement_is_refused_naming_the_field(lrs: LRS, body: Any, field: str) -> None:
    response = lrs.post("statements", body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert not Statement.objects.exists()


def test_batch_with_one_bad_statement_stores_nothing(lrs: LRS) -> None:
    batch = [statement(), statement(), statement(object={"id": "no iri"})]
    response = lrs.post("statements", batch)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "[2].object.id"
    assert not Statement.objects.exists()


def test_put_rejects_a_non_uuid_id(lrs: LRS) -> None:
    assert lrs.put("statements?statementId=abc", statement()).status_code == 400
    assert not Statement.objects.exists()


def test_same_id_same_content_is_accepted_other_content_conflicts(lrs: LRS) -> None:
    statement_id = str(uuid.uuid4())
    assert lrs.put(f"statements?statementId={statement_id}", statement()).status_code == 204
    assert lrs.put(f"statements?statementId={statement_id}", statement()).status_code == 204
    other = statement(verb={"id": "http://adlnet.gov/expapi/verbs/failed"})
    assert lrs.put(f"statements?statementId={statement_id}", other).status_code == 409
    stored = Statement.objects.get(statement_id=statement_id)
    assert stored.verb_id.endswith("/completed")  # immutable


def test_voided_statement_is_hidden_and_reachable_by_voided_id(lrs: LRS) -> None:
    target = lrs.post("statements", statement()).json()[0]
    voiding = statement(
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": target},
    )
    voiding_id = lrs.post("statements", voiding).json()[0]
    assert lrs.get("statements", {"statementId": target}).status_code == 404
    assert lrs.get("statements", {"voidedStatementId": target}).json()["id"] == target
    ids = [s["id"] for s in lrs.get("statements").json()["statements"]]
    assert target not in ids
    assert voiding_id in ids
    void_the_voiding = statement(
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": voiding_id},
    )
    assert lrs.post("statements", void_the_voiding).status_code == 400


def test_query_filters_and_pages_with_more(lrs: LRS) -> None:
    registration = str(uuid.uuid4())
    lrs.post("statements", [statement(context={"registration": registration}) for _ in range(3)])
    lrs.post("statements", statement(actor={"mbox": "mailto:other@example.org"}))
    agent = json.dumps({"mbox": "mailto:officer@example.org"})
    first = lrs.get("statements", {"agent": agent, "registration": registration, "limit": "2"})
    assert first["X-Experience-API-Consistent-Through"]
    page = first.json()
    assert len(page["statements"]) == 2
    more = lrs.client.get(page["more"], **lrs.headers()).json()
    assert len(more["statements"]) == 1
    assert more["more"] == ""
    related = lrs.get(
        "statements",
        {"activity": "http://example.org/activities/patrol", "related_activities": "true"},
    ).json()
    assert len(related["statements"]) == 4
    ids = lrs.get("statements", {"format": "ids", "limit": "1"}).json()["statements"][0]
    assert ids["verb"] == {"id": "http://adlnet.gov/expapi/verbs/completed"}
    assert lrs.get("statements", {"bogus": "1"}).status_code == 400


def test_a_client_never_reads_another_institutions_statements(lrs: LRS, other_lrs: LRS) -> None:
    statement_id = lrs.post("statements", statement()).json()[0]
    assert other_lrs.get("statements", {"statementId": statement_id}).status_code == 404
    assert other_lrs.get("statements").json()["statements"] == []


def test_own_scope_client_reads_only_its_own(lrs: LRS, institution: Any) -> None:
    client, secret = make_client(institution, scope="own")
    own = LRS(basic(client.key, secret))
    lrs.post("statements", statement())
    mine = own.post("statements", statement()).json()[0]
    assert [s["id"] for s in own.get("statements").json()["statements"]] == [mine]


def test_wrong_credentials_are_refused(institution: Any) -> None:
    response = LRS(basic("nobody", "wrong")).get("statements")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


def test_launch_credential_writes_only_its_learner_and_registration(learner: Any) -> None:
    registration = uuid.uuid4()
    params = issue_launch_credential(
        user=learner, registration=registration, activity_id="http://example.org/a"
    )
    launched = LRS(params["auth"])
    own = statement(actor=params["actor"])
    assert launched.post("statements", own).status_code == 200
    assert Statement.objects.get().registration == registration
    assert launched.post("statements", statement()).status_code == 403
    other_registration = statement(
        actor=params["actor"], context={"registration": str(uuid.uuid4())}
    )
    assert launched.post("statements", other_registration).status_code == 403
    assert len(launched.get("statements").json()["statements"]) == 1
    LaunchCredential.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert launched.get("statements").status_code == 401


def test_statements_stored_is_sent_after_commit(
    lrs: LRS, django_capture_on_commit_callbacks: Any
) -> None:
    with stored_batches() as received, django_capture_on_commit_callbacks(execute=True):
        lrs.post("statements", [statement(), statement()])
    assert len(received) == 1
    assert len(received[0]) == 2


def test_documents_concurrency_and_json_merge(lrs: LRS) -> None:
    query = "activities/profile?activityId=http://example.org/a&profileId=p1"
    assert lrs.put(query, {"a": 1}, HTTP_IF_NONE_MATCH="*").status_code == 204
    read = lrs.get("activities/profile", {"activityId": "http://example.org/a", "profileId": "p1"})
    etag = read["ETag"]
    assert lrs.put(query, {"a": 2}).status_code == 409
    assert lrs.put(query, {"a": 2}, HTTP_IF_MATCH='"stale"').status_code == 412
    assert lrs.put(query, {"a": 2}, HTTP_IF_NONE_MATCH="*").status_code == 412
    assert lrs.put(query, {"a": 2}, HTTP_IF_MATCH=etag).status_code == 204
    assert lrs.post(query, {"b": 3}).status_code == 204
    merged = lrs.get(
        "activities/profile", {"activityId": "http://example.org/a", "profileId": "p1"}
    )
    assert merged.json() == {"a": 2, "b": 3}


def test_alternate_request_syntax(lrs: LRS) -> None:
    from urllib.parse import urlencode

    body = urlencode(
        {
            "Authorization": lrs.auth,
            "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json",
            "content": json.dumps(statement()),
        }
    )
    response = lrs.client.post(
        "/xapi/statements?method=POST", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert Statement.objects.count() == 1


def test_multipart_attachment_is_stored_and_returned(lrs: LRS) -> None:
    content = b"an incident report"
    response = post_with_attachment(lrs, hashlib.sha256(content).hexdigest(), content)
    assert response.status_code == 200, response.content
    statement_id = response.json()[0]
    answer = lrs.get("statements", {"statementId": statement_id, "attachments": "true"})
    assert answer["Content-Type"].startswith("multipart/mixed")
    assert content in answer.content
    body = json.loads(lrs.get("statements", {"statementId": statement_id}).content)
    body.pop("id")
    missing = lrs.post("statements", body)
    assert missing.status_code == 400


def test_forwarding_failure_is_listed_and_retried(lrs: LRS, institution: Any) -> None:
    ForwardingTarget.objects.create(
        institution=institution, endpoint="http://127.0.0.1:9/xapi", username="u", password="p"
    )
    from lms.xapi.tasks import forward_statements

    row_id = str(uuid.uuid4())
    lrs.put(f"statements?statementId={row_id}", statement())
    target = ForwardingTarget.objects.get()
    forward_statements.apply(args=[target.pk, [row_id]])
    failure = ForwardingFailure.objects.get()
    assert failure.statement_ids == [row_id]
    from lms.xapi.tasks import retry_failure

    assert retry_failure(failure) is False
    failure.refresh_from_db()
    assert failure.attempts == 2


def test_client_page_grants_and_denials(
    client: Any, coordinator: Any, learner: Any, other_institution: Any, institution: Any
) -> None:
    from tests.factories import TEST_PASSWORD

    client.login(username=learner.email, password=TEST_PASSWORD)
    assert client.get("/xapi/clients/").status_code == 403
    client.logout()
    client.login(username=coordinator.email, password=TEST_PASSWORD)
    assert client.get("/xapi/clients/").status_code == 200
    refused = client.post(
        "/xapi/clients/", {"name": "x", "institution": other_institution.pk, "scope": "own"}
    )
    assert b"Copy the secret now" not in refused.content
    created = client.post(
        "/xapi/clients/", {"name": "Records system", "institution": institution.pk, "scope": "own"}
    )
    assert b"Copy the secret now" in created.content
