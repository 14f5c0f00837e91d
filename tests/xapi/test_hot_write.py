"""The hot request: one statement POSTed by launched content with its launch credential.

One round trip once the credential is cached (the INSERT confirms the credential and reads the
forwarding target in the same statement), and every way of withdrawing a credential still gets
401 on the next write, whether it went through the ORM's signals or not."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lms.accounts.models import User
from lms.xapi import auth
from lms.xapi.models import ForwardingTarget, LaunchCredential, Statement
from lms.xapi.services import issue_launch_credential
from tests.factories import InstitutionFactory
from tests.xapi.conftest import LRS, basic, statement, stored_batches

pytestmark = pytest.mark.django_db


def _launched(learner: Any) -> tuple[LRS, dict[str, Any]]:
    params = issue_launch_credential(
        user=learner, registration=uuid.uuid4(), activity_id="http://example.org/a"
    )
    return LRS(params["auth"]), params


def _own(params: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return statement(actor=params["actor"], **overrides)


def _post_counting(launched: LRS, body: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = launched.post("statements", body)
    return response, [query["sql"] for query in queries.captured_queries]


def test_a_launched_statement_is_one_round_trip_once_the_credential_is_cached(
    learner: Any, require_postgres: None
) -> None:
    launched, params = _launched(learner)
    assert launched.post("statements", _own(params)).status_code == 200  # reads the credential
    response, queries = _post_counting(launched, _own(params))
    assert response.status_code == 200, response.content
    assert len(queries) == 1, queries
    assert "INSERT INTO" in queries[0]
    assert "xapi_launchcredential" in queries[0]
    stored = Statement.objects.get(statement_id=response.json()[0])
    assert stored.user_id == learner.pk
    assert stored.institution_id == learner.institution_id
    assert str(stored.registration) == params["registration"]
    assert stored.data["authority"]["account"]["name"] == "lms"


@pytest.mark.parametrize(
    "withdraw",
    [
        pytest.param(
            lambda user: LaunchCredential.objects.update(
                expires_at=timezone.now() - timedelta(seconds=1)
            ),
            id="expired",
        ),
        pytest.param(lambda user: LaunchCredential.objects.all().delete(), id="revoked"),
        pytest.param(
            lambda user: User.objects.filter(pk=user.pk).update(status=User.Status.SUSPENDED),
            id="user suspended",
        ),
    ],
)
def test_a_withdrawn_cached_credential_gets_401_and_stores_nothing(
    learner: Any, withdraw: Any
) -> None:
    launched, params = _launched(learner)
    assert launched.post("statements", _own(params)).status_code == 200
    withdraw(learner)  # queryset writes: no signal tells the cache
    response = launched.post("statements", _own(params))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert launched.put(f"statements?statementId={uuid.uuid4()}", _own(params)).status_code == 401
    # Even a statement that would be refused for itself: 401 first.
    assert launched.post("statements", {"verb": "nonsense"}).status_code == 401
    assert launched.post("statements", statement()).status_code == 401  # another actor: 403 else
    assert Statement.objects.count() == 1


def test_an_expired_credential_is_refused_by_the_cache_without_asking(learner: Any) -> None:
    launched, params = _launched(learner)
    assert launched.post("statements", _own(params)).status_code == 200
    key = _key_of(params["auth"])
    launch = auth._LAUNCHES[key]
    auth._LAUNCHES[key] = auth._Launch(
        secret_hash=launch.secret_hash,
        expires_at=timezone.now() - timedelta(seconds=1),
        registration=launch.registration,
        caller=launch.caller,
        read_at=launch.read_at,
    )
    LaunchCredential.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with CaptureQueriesContext(connection) as queries:
        assert launched.post("statements", _own(params)).status_code == 401
    assert "INSERT" not in " ".join(query["sql"] for query in queries.captured_queries)


def _key_of(authorization: str) -> str:
    import base64

    return base64.b64decode(authorization.split(" ", 1)[1]).decode().split(":", 1)[0]


def test_a_wrong_secret_is_refused_and_does_not_evict_the_right_one(learner: Any) -> None:
    launched, params = _launched(learner)
    assert launched.post("statements", _own(params)).status_code == 200
    key = _key_of(params["auth"])
    wrong = LRS(basic(key, "not-the-secret"))
    assert wrong.post("statements", _own(params)).status_code == 401
    assert key in auth._LAUNCHES
    response, queries = _post_counting(launched, _own(params))
    assert response.status_code == 200
    if connection.vendor == "postgresql":  # SQLite's portable write takes a few statements
        assert len(queries) == 1


def test_a_learner_moved_to_another_institution_writes_there_at_once(learner: Any) -> None:
    launched, params = _launched(learner)
    assert launched.post("statements", _own(params)).status_code == 200
    elsewhere = InstitutionFactory()
    User.objects.filter(pk=learner.pk).update(institution=elsewhere)
    response = launched.post("statements", _own(params))
    assert response.status_code == 200
    assert Statement.objects.get(statement_id=response.json()[0]).institution_id == elsewhere.pk


def test_reading_never_uses_the_cached_credential(learner: Any) -> None:
    launched, params = _launched(learner)
    assert launched.post("statements", _own(params)).status_code == 200
    LaunchCredential.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert launched.get("statements").status_code == 401


def test_the_same_statement_again_is_accepted_a_different_one_conflicts(learner: Any) -> None:
    launched, params = _launched(learner)
    first = _own(params, id=str(uuid.uuid4()))
    assert launched.post("statements", first).status_code == 200
    response, queries = _post_counting(launched, first)
    assert response.status_code == 200
    assert response.json() == [first["id"]]
    if connection.vendor == "postgresql":
        assert len(queries) == 2  # the INSERT that met the id, then the stored statement
    changed = dict(first, verb={"id": "http://adlnet.gov/expapi/verbs/failed"})
    response = launched.post("statements", changed)
    assert response.status_code == 409
    assert Statement.objects.get().verb_id.endswith("/completed")


def test_statements_stored_carries_only_the_statements_new_to_the_lrs(
    lrs: LRS, django_capture_on_commit_callbacks: Any
) -> None:
    known = statement(id=str(uuid.uuid4()))
    assert lrs.post("statements", known).status_code == 200
    with stored_batches() as received, django_capture_on_commit_callbacks(execute=True):
        fresh = statement(id=str(uuid.uuid4()))
        assert lrs.post("statements", [known, fresh]).status_code == 200
    assert [[s["id"] for s in batch] for batch in received] == [[fresh["id"]]]


def test_forwarding_follows_its_target_from_the_next_write(
    learner: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lms.xapi import tasks

    sent: list[tuple[int, list[str]]] = []
    monkeypatch.setattr(tasks.forward_statements, "delay", lambda *args: sent.append(args))
    launched, params = _launched(learner)

    def post() -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = launched.post("statements", _own(params))
        assert response.status_code == 200
        return str(response.json()[0])

    post()
    assert sent == []
    target = ForwardingTarget.objects.create(
        institution=learner.institution,
        endpoint="http://127.0.0.1:9/xapi",
        username="u",
        password="p",
    )
    forwarded = post()
    assert sent == [(target.pk, [forwarded])]
    ForwardingTarget.objects.filter(pk=target.pk).update(is_active=False)
    post()
    assert len(sent) == 1


def test_another_process_takes_the_credential_from_the_shared_cache(
    learner: Any, require_postgres: None
) -> None:
    launched, params = _launched(learner)
    assert launched.post("statements", _own(params)).status_code == 200  # reads the credential
    auth._LAUNCHES.clear()  # as another web process sees it: nothing of its own yet
    response, queries = _post_counting(launched, _own(params))
    assert response.status_code == 200
    assert len(queries) == 1  # the INSERT, which confirms the credential; no read of it


def test_a_revoked_credential_in_the_shared_cache_is_refused_and_forgotten(
    learner: Any,
) -> None:
    from django.core.cache import cache

    launched, params = _launched(learner)
    assert launched.post("statements", _own(params)).status_code == 200
    key = _key_of(params["auth"])
    assert cache.get(auth._SHARED_PREFIX + key) is not None
    LaunchCredential.objects.filter(key=key).delete()  # revoked behind every process's back
    auth._LAUNCHES.clear()  # another process: the shared entry still names the credential
    assert launched.post("statements", _own(params)).status_code == 401
    assert cache.get(auth._SHARED_PREFIX + key) is None
    assert Statement.objects.count() == 1
