"""Buffered ingest (LMS_XAPI_BUFFERED): launched statements are claimed in Redis, queued and
drained into PostgreSQL without a database read in the request; the drain confirms the launch
credentials; every read and synchronous write drains first."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from lms.xapi import buffer, tasks
from lms.xapi.models import LaunchCredential, Statement
from lms.xapi.services import issue_launch_credential
from lms.xapi.verbs import VOIDED_IRI
from tests.xapi.conftest import LRS, statement, stored_batches

pytestmark = pytest.mark.django_db

_APPLY_ASYNC = tasks.drain_statements.apply_async


def _clear() -> None:
    r = buffer.redis_client()
    keys = list(r.scan_iter("xapi:*"))
    if keys:
        r.delete(*keys)


@pytest.fixture(autouse=True)
def drain_sends(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    if not django_settings.REDIS_URL:
        pytest.skip("buffered ingest needs Redis (REDIS_URL)")
    settings.LMS_XAPI_BUFFERED = True
    _clear()
    # The drain task is not sent: statements stay buffered until a read or a drain_now().
    sent: list[int] = []
    monkeypatch.setattr(tasks.drain_statements, "apply_async", lambda *a, **k: sent.append(1))
    yield sent
    _clear()


def _launched(learner: Any) -> tuple[LRS, dict[str, Any]]:
    params = issue_launch_credential(
        user=learner, registration=uuid.uuid4(), activity_id="http://example.org/a"
    )
    launched = LRS(params["auth"])
    # The first write reads the credential from the database (synchronous) and caches it.
    assert launched.post("statements", _own(params)).status_code == 200
    return launched, params


def _key(params: dict[str, Any]) -> str:
    """The launch credential's key, from its Basic authorization."""
    return base64.b64decode(params["auth"].split()[1]).decode().partition(":")[0]


def _own(params: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return statement(actor=params["actor"], **overrides)


def _buffered_count() -> int:
    r = buffer.redis_client()
    return int(r.llen(buffer.BUFFER)) + int(r.llen(buffer.PROCESSING))


def test_an_accepted_post_is_buffered_and_readable_right_after(
    learner: Any, drain_sends: list[int]
) -> None:
    launched, params = _launched(learner)
    before = Statement.objects.count()
    response = launched.post("statements", _own(params))
    assert response.status_code == 200, response.content
    statement_id = response.json()[0]
    assert Statement.objects.count() == before  # not written yet
    assert _buffered_count() == 1
    assert drain_sends == [1]  # one drain scheduled
    got = launched.get("statements", {"statementId": statement_id})
    assert got.status_code == 200, got.content
    assert got.json()["id"] == statement_id
    assert "X-Experience-API-Consistent-Through" in got
    assert _buffered_count() == 0
    stored = Statement.objects.get(statement_id=statement_id)
    assert stored.user_id == learner.pk
    assert str(stored.registration) == params["registration"]


def test_a_put_is_buffered_too(learner: Any) -> None:
    launched, params = _launched(learner)
    statement_id = str(uuid.uuid4())
    response = launched.put(f"statements?statementId={statement_id}", _own(params))
    assert response.status_code == 204
    assert _buffered_count() == 1
    assert launched.get("statements", {"statementId": statement_id}).status_code == 200


def test_the_same_statement_twice_is_accepted_and_stored_once(learner: Any) -> None:
    launched, params = _launched(learner)
    body = _own(params, id=str(uuid.uuid4()))
    assert launched.post("statements", body).status_code == 200
    assert launched.post("statements", body).status_code == 200  # still buffered
    assert _buffered_count() == 1
    buffer.drain_now()
    assert launched.post("statements", body).status_code == 200  # stored
    assert Statement.objects.filter(statement_id=body["id"]).count() == 1


@pytest.mark.parametrize("drained", [False, True], ids=["buffered", "stored"])
def test_the_same_id_with_another_statement_is_409(learner: Any, drained: bool) -> None:
    launched, params = _launched(learner)
    body = _own(params, id=str(uuid.uuid4()))
    assert launched.post("statements", body).status_code == 200
    if drained:
        buffer.drain_now()
    other = {**body, "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"}}
    assert launched.post("statements", other).status_code == 409
    buffer.drain_now()
    stored = Statement.objects.get(statement_id=body["id"])
    assert stored.verb_id == body["verb"]["id"]


@pytest.mark.parametrize(
    "withdraw",
    [
        pytest.param(
            lambda learner: LaunchCredential.objects.update(
                expires_at=timezone.now() - timedelta(seconds=1)
            ),
            id="expired",
        ),
        pytest.param(lambda learner: LaunchCredential.objects.all().delete(), id="revoked"),
        pytest.param(
            lambda learner: type(learner).objects.filter(pk=learner.pk).update(status="suspended"),
            id="learner suspended",
        ),
    ],
)
def test_a_withdrawn_credential_is_not_stored_and_its_next_write_gets_401(
    learner: Any, withdraw: Any, caplog: pytest.LogCaptureFixture
) -> None:
    launched, params = _launched(learner)
    withdraw(learner)  # behind the caches' back: no signal, no cache entry dropped
    # Accepted from the cached credential, without reading the database ...
    accepted = _own(params, id=str(uuid.uuid4()))
    assert launched.post("statements", accepted).status_code == 200
    # ... and dropped by the drain, which finds the credential withdrawn and marks it refused.
    with caplog.at_level("WARNING", logger="lms.xapi.buffer"):
        assert buffer.drain_now() == 0
    assert not Statement.objects.filter(statement_id=accepted["id"]).exists()
    assert "withdrawn launch credential" in caplog.text
    assert buffer.redis_client().exists(buffer.REFUSED + _key(params))
    # Its next write, in any process, reads the database and is refused.
    body = _own(params, id=str(uuid.uuid4()))
    response = launched.post("statements", body)
    assert response.status_code == 401
    assert _buffered_count() == 0
    assert buffer.redis_client().get(buffer.CLAIM + body["id"]) is None  # nothing claimed
    buffer.drain_now()
    assert not Statement.objects.filter(statement_id=body["id"]).exists()


def test_a_buffered_post_reads_no_database(learner: Any, django_assert_num_queries: Any) -> None:
    launched, params = _launched(learner)
    with django_assert_num_queries(0):
        response = launched.post("statements", [_own(params), _own(params)])
    assert response.status_code == 200, response.content
    assert _buffered_count() == 2


def test_a_refusal_mark_on_a_credential_that_holds_falls_back_to_the_database(
    learner: Any,
) -> None:
    launched, params = _launched(learner)
    buffer.redis_client().set(buffer.REFUSED + _key(params), "1")
    body = _own(params, id=str(uuid.uuid4()))
    assert launched.post("statements", body).status_code == 200
    # written synchronously by the caller the database confirmed, not buffered
    assert _buffered_count() == 0
    assert Statement.objects.filter(statement_id=body["id"]).exists()


def test_the_drain_keeps_the_credentials_that_hold_in_a_mixed_batch(learner: Any) -> None:
    launched, params = _launched(learner)
    other_params = issue_launch_credential(
        user=learner, registration=uuid.uuid4(), activity_id="http://example.org/b"
    )
    other = LRS(other_params["auth"])
    assert other.post("statements", _own(other_params)).status_code == 200  # cached now
    kept = launched.post("statements", _own(params)).json()[0]
    lost = other.post("statements", _own(other_params)).json()[0]
    LaunchCredential.objects.filter(key=_key(other_params)).delete()
    assert buffer.drain_now() == 1
    assert Statement.objects.filter(statement_id=kept).exists()
    assert not Statement.objects.filter(statement_id=lost).exists()
    assert not buffer.redis_client().exists(buffer.REFUSED + _key(params))


def test_an_id_sent_again_after_its_claim_expired_keeps_the_stored_statement(
    learner: Any, caplog: pytest.LogCaptureFixture
) -> None:
    launched, params = _launched(learner)
    body = _own(params, id=str(uuid.uuid4()))
    assert launched.post("statements", body).status_code == 200
    buffer.drain_now()
    buffer.redis_client().delete(buffer.CLAIM + body["id"])  # the claim expired
    other = {**body, "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"}}
    assert launched.post("statements", other).status_code == 200
    with caplog.at_level("WARNING", logger="lms.xapi.buffer"):
        assert buffer.drain_now() == 0
    assert Statement.objects.get(statement_id=body["id"]).verb_id == body["verb"]["id"]
    assert body["id"] in caplog.text
    # the same statement again after its claim expired is no conflict
    caplog.clear()
    buffer.redis_client().delete(buffer.CLAIM + body["id"])
    assert launched.post("statements", body).status_code == 200
    with caplog.at_level("WARNING", logger="lms.xapi.buffer"):
        buffer.drain_now()
    assert "conflict" not in caplog.text


def test_a_drain_that_crashed_after_moving_a_batch_stores_each_statement_once(
    learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    launched, params = _launched(learner)
    first = [launched.post("statements", _own(params)).json()[0] for _ in range(3)]
    moved = buffer.move_batch()  # the crash: moved to the processing list, never written
    assert len(moved) == 3
    later = launched.post("statements", _own(params)).json()[0]
    with stored_batches() as batches:
        with django_capture_on_commit_callbacks(execute=True):
            assert buffer.drain_now() == 4
        # A drain that crashed after its write but before deleting its batch: written again,
        # conflicts ignored, no second signal.
        launched.post("statements", _own(params))
        items = buffer.move_batch()
        with django_capture_on_commit_callbacks(execute=True):
            buffer._write_batch(items)
            assert buffer.drain_now() == 0
    received = [s["id"] for batch in batches for s in batch]
    assert _buffered_count() == 0
    for statement_id in [*first, later]:
        assert Statement.objects.filter(statement_id=statement_id).count() == 1
    assert sorted(received[:4]) == sorted([*first, later])
    assert len(received) == 5


def test_statements_stored_reaches_receivers_from_the_drain(
    learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    launched, params = _launched(learner)
    with stored_batches() as batches:
        statement_id = launched.post("statements", _own(params)).json()[0]
        assert batches == []
        with django_capture_on_commit_callbacks(execute=True):
            launched.get("statements", {"statementId": statement_id})
    received = [s for batch in batches for s in batch]
    assert [s["id"] for s in received] == [statement_id]
    assert received[0]["context"]["registration"] == params["registration"]


def test_the_drain_task_writes_the_buffer(learner: Any) -> None:
    launched, params = _launched(learner)
    statement_id = launched.post("statements", _own(params)).json()[0]
    assert tasks.drain_statements.run() == 1
    assert Statement.objects.filter(statement_id=statement_id).exists()
    assert _buffered_count() == 0


def test_a_voiding_statement_finds_its_buffered_target(learner: Any) -> None:
    launched, params = _launched(learner)
    target = launched.post("statements", _own(params)).json()[0]
    assert _buffered_count() == 1
    voiding = _own(
        params,
        verb={"id": VOIDED_IRI, "display": {"en-US": "voided"}},
        object={"objectType": "StatementRef", "id": target},
    )
    response = launched.post("statements", voiding)
    assert response.status_code == 200, response.content
    assert _buffered_count() == 0
    assert Statement.objects.get(statement_id=target).voided
    got = launched.get("statements", {"voidedStatementId": target})
    assert got.status_code == 200


def test_in_eager_mode_the_scheduled_drain_runs_inline(
    learner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert django_settings.CELERY_TASK_ALWAYS_EAGER
    monkeypatch.setattr(tasks.drain_statements, "apply_async", _APPLY_ASYNC)
    launched, params = _launched(learner)
    statement_id = launched.post("statements", _own(params)).json()[0]
    assert _buffered_count() == 0
    assert Statement.objects.filter(statement_id=statement_id).exists()


def test_an_equal_statement_written_differently_is_accepted_as_the_same(learner: Any) -> None:
    launched, params = _launched(learner)
    body = _own(params, id=str(uuid.uuid4()))
    assert launched.post("statements", body).status_code == 200
    again = {**body, "object": {"id": body["object"]["id"]}}  # objectType left to its default
    assert launched.post("statements", again).status_code == 200  # the synchronous rule decides
    assert Statement.objects.filter(statement_id=body["id"]).count() == 1


def test_accept_survives_a_broken_held_connection_and_a_flushed_script(learner: Any) -> None:
    launched, params = _launched(learner)
    assert launched.post("statements", _own(params)).status_code == 200
    held = buffer._held.held
    assert held is not None  # the accept went over this thread's connection
    held._sock.close()  # as a Redis restart or a dropped socket leaves it
    assert launched.post("statements", _own(params)).status_code == 200
    buffer.redis_client().script_flush()  # as a Redis restarted without its scripts
    assert launched.post("statements", _own(params)).status_code == 200
    assert _buffered_count() == 3
    assert buffer.drain_now() == 3
