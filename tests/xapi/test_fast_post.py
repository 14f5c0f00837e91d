"""lms.xapi.ingest: launched content's buffered statement POST answered without Django's
request handling. It answers what the full path answers, header for header, and leaves to the
full path every request it does not accept, before writing anything."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lms.xapi import buffer
from lms.xapi.models import Statement
from lms.xapi.services import issue_launch_credential
from tests.platform.test_handlers import _wsgi
from tests.xapi.conftest import LRS
from tests.xapi.test_buffered import _buffered_count, _launched, _own, drain_sends

pytestmark = pytest.mark.django_db

__all__ = ["drain_sends"]  # the buffered tests' fixture: Redis, the buffer on, no drain sent

# Set per request; compared by form only.
PER_REQUEST = {"date", "x-request-id", "x-experience-api-consistent-through"}


def _full(params: dict[str, Any]) -> LRS:
    """A caller with the same credential whose requests all go through Django's handlers."""
    full = LRS(params["auth"])
    full.client.ingest = False
    return full


def _headers(response: Any) -> list[tuple[str, str]]:
    return [(name.lower(), value) for name, value in response.items()]


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"HTTP_ACCEPT_LANGUAGE": "fr-CA,fr;q=0.9,en;q=0.5"},
        {"HTTP_ACCEPT_LANGUAGE": "pt-BR"},
        {"HTTP_COOKIE": f"{django_settings.LANGUAGE_COOKIE_NAME}=es"},
        {"HTTP_X_REQUEST_ID": "proxy-given-7f3a"},
        {"secure": True},
        {"HTTP_X_FORWARDED_PROTO": "https"},
    ],
)
def test_the_answer_is_the_full_paths_header_for_header(
    learner: Any, settings: Any, extra: dict[str, Any]
) -> None:
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    launched, params = _launched(learner)
    full = _full(params)
    before = _buffered_count()
    fast_answer = launched.post("statements", _own(params), **extra)
    full_answer = full.post("statements", _own(params), **extra)
    assert launched.client.ingested == 1
    assert full.client.ingested == 0
    assert fast_answer.status_code == full_answer.status_code == 200, fast_answer.content
    assert _buffered_count() == before + 2  # both queued in the buffer
    (fast_id,) = fast_answer.json()
    assert uuid.UUID(fast_id)
    assert len(fast_answer.content) == len(full_answer.content)
    fast, slow = _headers(fast_answer), _headers(full_answer)
    assert [name for name, _ in fast] == [name for name, _ in slow]
    assert [h for h in fast if h[0] not in PER_REQUEST] == [
        h for h in slow if h[0] not in PER_REQUEST
    ]
    fast_values = dict(fast)
    if "HTTP_X_REQUEST_ID" in extra:
        assert fast_values["x-request-id"] == dict(slow)["x-request-id"] == "proxy-given-7f3a"
    else:
        assert re.fullmatch("[0-9a-f]{32}", fast_values["x-request-id"])
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
        fast_values["x-experience-api-consistent-through"],
    )
    secure = "secure" in extra or "HTTP_X_FORWARDED_PROTO" in extra
    assert ("strict-transport-security" in fast_values) is secure
    language = {"HTTP_ACCEPT_LANGUAGE": "fr", "HTTP_COOKIE": "es"}
    expected = next((v for k, v in language.items() if k in extra), None)
    if extra.get("HTTP_ACCEPT_LANGUAGE") == "pt-BR":
        expected = "pt"
    assert fast_values["content-language"] == (expected or django_settings.LANGUAGE_CODE)


def test_a_small_batch_is_served_and_every_statement_stored_by_the_drain(learner: Any) -> None:
    launched, params = _launched(learner)
    batch = [_own(params) for _ in range(4)]
    answer = launched.post("statements", batch)
    assert answer.status_code == 200
    assert launched.client.ingested == 1
    ids = answer.json()
    assert len(ids) == 4
    assert len(answer.content) < 200
    buffer.drain_now()
    stored = Statement.objects.filter(statement_id__in=ids)
    assert stored.count() == 4
    assert {s.user_id for s in stored} == {learner.pk}


@pytest.mark.parametrize(
    ("body", "extra", "status", "field"),
    [
        # refused: the full path answers, naming the field in the caller's language
        ({"verb": None}, {"HTTP_ACCEPT_LANGUAGE": "es"}, 400, "verb"),
        ({"actor": {"mbox": "mailto:someone.else@example.org"}}, {}, 403, "actor"),
        ({"object": {"id": "http://example.org/a\u0000"}}, {"HTTP_ACCEPT_LANGUAGE": "fr"}, 400, "body"),
        ("{not json", {}, 400, "body"),
        ([], {}, 400, "body"),
        ({}, {"HTTP_X_EXPERIENCE_API_VERSION": "2.0"}, 400, "X-Experience-API-Version"),
        ({}, {"HTTP_HOST": "evil.example"}, 400, None),
        # accepted by the full path: more than a small batch, a query string it refuses
        ([{}, {}, {}, {}, {}], {}, 200, None),
    ],
)  # fmt: skip
def test_what_it_does_not_accept_goes_the_full_way_and_nothing_is_queued_here(
    learner: Any, body: Any, extra: dict[str, Any], status: int, field: str | None
) -> None:
    launched, params = _launched(learner)
    if isinstance(body, dict):
        sent: Any = {**_own(params), **{k: v for k, v in body.items() if k != "actor"}}
        if "actor" in body:
            sent["actor"] = body["actor"]
        sent = {k: v for k, v in sent.items() if v is not None}
    elif isinstance(body, list):
        sent = [_own(params) for _ in body]
    else:
        sent = body
    before = _buffered_count()
    answer = launched.post("statements", sent, **extra)
    assert launched.client.ingested == 0
    assert answer.status_code == status, answer.content
    if status == 200:
        assert len(answer.json()) == 5
        assert _buffered_count() == before + 5
    else:
        assert _buffered_count() == before
    if field is not None:
        assert answer.json()["error"]["field"].endswith(field)
    if extra.get("HTTP_ACCEPT_LANGUAGE") == "es":
        assert answer["Content-Language"] == "es"


def test_a_query_string_goes_the_full_way(learner: Any) -> None:
    launched, params = _launched(learner)
    answer = launched.post("statements?verb=x", _own(params))
    assert answer.status_code == 400
    assert launched.client.ingested == 0
    assert answer.json()["error"]["field"] == "verb"


def test_a_credential_not_yet_held_is_read_by_the_full_path_then_served_here(
    learner: Any,
) -> None:
    params = issue_launch_credential(
        user=learner, registration=uuid.uuid4(), activity_id="http://example.org/a"
    )
    launched = LRS(params["auth"])
    assert launched.post("statements", _own(params)).status_code == 200
    assert launched.client.ingested == 0  # read from the database there, and cached
    assert launched.post("statements", _own(params)).status_code == 200
    assert launched.client.ingested == 1
    wrong = LRS(params["auth"][:-4] + "AAA=")
    assert wrong.post("statements", _own(params)).status_code == 401
    assert wrong.client.ingested == 0


def test_without_the_buffer_nothing_is_served_here(learner: Any, settings: Any) -> None:
    launched, params = _launched(learner)
    settings.LMS_XAPI_BUFFERED = False
    answer = launched.post("statements", _own(params))
    assert answer.status_code == 200
    assert launched.client.ingested == 0
    assert Statement.objects.filter(statement_id=answer.json()[0]).exists()  # written at once


def test_the_wsgi_application_serves_it(learner: Any) -> None:
    _launched_client, params = _launched(learner)
    before = _buffered_count()
    answer = _wsgi(
        "/xapi/statements",
        "POST",
        json.dumps(_own(params)).encode(),
        AUTHORIZATION=params["auth"],
        X_EXPERIENCE_API_VERSION="1.0.3",
    )
    assert answer["status"] == 200, answer["body"]
    assert _buffered_count() == before + 1
    (statement_id,) = json.loads(answer["body"])
    assert answer["headers"]["content-length"] == str(len(answer["body"]))
    buffer.drain_now()
    assert Statement.objects.get(statement_id=statement_id).user_id == learner.pk


def test_a_held_credential_serves_for_an_hour_then_is_read_again(
    learner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from lms.xapi import auth

    launched, params = _launched(learner)
    now = time.time()
    monkeypatch.setattr(auth, "time", SimpleNamespace(time=lambda: now + 50 * 60))
    with CaptureQueriesContext(connection) as queries:
        assert launched.post("statements", _own(params)).status_code == 200
    assert launched.client.ingested == 1
    assert len(queries) == 0  # nor read from the database
    monkeypatch.setattr(auth, "time", SimpleNamespace(time=lambda: now + 61 * 60))
    assert launched.post("statements", _own(params)).status_code == 200
    assert launched.client.ingested == 1  # read again, by the full path


def test_with_the_redirect_to_https_only_secure_requests_are_served_here(
    learner: Any, settings: Any
) -> None:
    _client, params = _launched(learner)
    settings.SECURE_SSL_REDIRECT = True
    launched = LRS(params["auth"])  # the middleware reads the setting when it is loaded
    before = _buffered_count()
    answer = launched.post("statements", _own(params))
    assert answer.status_code == 301  # SecurityMiddleware's redirect, on the full path
    assert answer["Location"].startswith("https://")
    assert launched.client.ingested == 0
    assert _buffered_count() == before
    assert launched.post("statements", _own(params), secure=True).status_code == 200
    assert launched.client.ingested == 1
