"""Claims of synchronous writes under buffered ingest (lms.xapi.buffer.begin_write/end_write): a
write that stores nothing gives back the claims it made, and only those."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError

from lms.xapi import buffer, store, tasks
from lms.xapi.models import Statement
from lms.xapi.services import issue_launch_credential
from tests.xapi.conftest import LRS, clear_buffer_keys, statement

pytestmark = pytest.mark.django_db

ATTEMPTED = {"id": "http://adlnet.gov/expapi/verbs/attempted"}


@pytest.fixture(autouse=True)
def buffered(settings: Any, monkeypatch: pytest.MonkeyPatch, require_redis: str) -> Iterator[None]:
    settings.LMS_XAPI_BUFFERED = True
    clear_buffer_keys()
    # No drain task is sent: what launched content sends stays buffered until a drain.
    monkeypatch.setattr(tasks.drain_statements, "apply_async", lambda *a, **k: None)
    yield
    clear_buffer_keys()


def _claim(statement_id: str) -> bytes | None:
    value: bytes | None = buffer.redis_client().get(buffer.CLAIM + statement_id)
    return value


def _with_id(**overrides: Any) -> dict[str, Any]:
    return statement(id=str(uuid.uuid4()), **overrides)


def test_a_successful_synchronous_write_keeps_its_claims(lrs: LRS) -> None:
    batch = [_with_id(), _with_id()]
    assert lrs.post("statements", batch).status_code == 200
    assert [_claim(s["id"]) for s in batch] == [b"synchronous", b"synchronous"]
    assert not buffer.redis_client().zcard(buffer.WRITING)


def test_a_conflicting_write_gives_back_the_claims_it_made(lrs: LRS, settings: Any) -> None:
    stored = _with_id()
    settings.LMS_XAPI_BUFFERED = False  # stored before buffering was turned on: no claim
    assert lrs.post("statements", stored).status_code == 200
    settings.LMS_XAPI_BUFFERED = True
    assert _claim(stored["id"]) is None
    new = _with_id()
    response = lrs.post("statements", [new, {**stored, "verb": ATTEMPTED}])
    assert response.status_code == 409, response.content
    assert _claim(stored["id"]) is None
    assert _claim(new["id"]) is None
    assert not Statement.objects.filter(statement_id=new["id"]).exists()
    assert not buffer.redis_client().zcard(buffer.WRITING)  # the write ended all the same


def test_a_failed_write_keeps_the_claim_an_earlier_successful_write_made(lrs: LRS) -> None:
    stored = _with_id()
    assert lrs.post("statements", stored).status_code == 200
    new = _with_id()
    response = lrs.post("statements", [{**stored, "verb": ATTEMPTED}, new])
    assert response.status_code == 409, response.content
    assert _claim(stored["id"]) == b"synchronous"
    assert _claim(new["id"]) is None


def test_a_write_the_database_fails_gives_back_its_claims(
    lrs: LRS, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> store.Written:
        raise OperationalError("the database went away")

    monkeypatch.setattr(store, "write", fail)
    batch = [_with_id(), _with_id()]
    with pytest.raises(OperationalError):
        lrs.post("statements", batch)
    assert [_claim(s["id"]) for s in batch] == [None, None]
    assert not buffer.redis_client().zcard(buffer.WRITING)


def test_a_statement_stored_before_a_later_failure_keeps_its_claim(
    lrs: LRS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One statement alone is one INSERT, committed by itself: what fails after it does not
    unstore it, so its claim stays."""

    def fail(written: store.Written) -> None:
        raise RuntimeError("forwarding failed")

    monkeypatch.setattr(store, "forward_written", fail)
    body = _with_id()
    with pytest.raises(RuntimeError):
        lrs.post("statements", body)
    assert Statement.objects.filter(statement_id=body["id"]).exists()
    assert _claim(body["id"]) == b"synchronous"


def test_an_invalid_batch_claims_nothing(lrs: LRS) -> None:
    valid = _with_id()
    invalid = _with_id(verb={"display": {"en-US": "no id"}})
    assert lrs.post("statements", [valid, invalid]).status_code == 400
    assert _claim(valid["id"]) is None


def test_launched_content_sending_an_id_of_a_failed_write_is_buffered_again(
    lrs: LRS, learner: Any
) -> None:
    params = issue_launch_credential(
        user=learner, registration=uuid.uuid4(), activity_id="http://example.org/a"
    )
    launched = LRS(params["auth"])
    assert launched.post("statements", statement(actor=params["actor"])).status_code == 200
    buffer.drain_now()  # the credential is cached now; its first statement stored
    stored = _with_id()
    assert lrs.post("statements", stored).status_code == 200
    body = statement(id=str(uuid.uuid4()), actor=params["actor"])
    assert lrs.post("statements", [body, {**stored, "verb": ATTEMPTED}]).status_code == 409
    # The id is free again: launched content sending it is answered from Redis and buffered,
    # not sent to the synchronous path as if an LRS client had stored it.
    assert launched.post("statements", body).status_code == 200
    assert buffer.redis_client().llen(buffer.BUFFER) == 1
    assert not Statement.objects.filter(statement_id=body["id"]).exists()
    buffer.drain_now()
    assert Statement.objects.filter(statement_id=body["id"]).exists()
