"""The platform's own learning events as xAPI statements, stored in the caller's transaction.

from lms.xapi.emit import emit, activity_iri
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    AgentAccount,
    Context,
    ContextActivities,
    Extensions,
    LanguageMap,
    Result,
    Score,
    Verb,
)
from tincan import Statement as TinCanStatement
from tincan.conversions.iso8601 import jsonify_datetime, make_datetime

from lms.xapi import buffer, store
from lms.xapi.models import Statement
from lms.xapi.verbs import VERBS


def activity_iri(kind: str, key: object) -> str:
    """The IRI of one of the platform's activities (a course, lesson, assessment, certificate)."""
    return f"{settings.SITE_URL}/xapi/activities/{kind}/{key}"


def actor_of(user: Any) -> dict[str, Any]:
    """The xAPI Agent of a platform user: an account on the platform, never the e-mail address."""
    return {
        "objectType": "Agent",
        "name": user.full_name,
        "account": {"homePage": settings.SITE_URL, "name": str(user.pk)},
    }


def _result(result: dict[str, Any]) -> Result:
    score_keys = {
        "score_scaled": "scaled",
        "score_raw": "raw",
        "score_min": "min",
        "score_max": "max",
    }
    score = {name: result[key] for key, name in score_keys.items() if result.get(key) is not None}
    return Result(
        score=Score(**score) if score else None,
        success=result.get("success"),
        completion=result.get("completion"),
        duration=result.get("duration"),
        response=result.get("response"),
    )


def build_statement(
    *,
    actor: Any,
    verb: str,
    activity_id: str,
    activity_name: dict[str, str] | None = None,
    activity_type: str | None = None,
    registration: uuid.UUID | None = None,
    result: dict[str, Any] | None = None,
    parent_activity_id: str | None = None,
    context_extensions: dict[str, Any] | None = None,
    statement_id: uuid.UUID | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """The statement as a JSON-ready dict, built with the tincan package.

    tincan builds each statement from a dozen objects with validating setters (about 0.3 ms on
    the test machine; a first view of a lesson emits two). The platform emits the same few
    shapes again and again (a verb about an activity, with its name, type, parent and result),
    only the id, learner, registration and time changing: tincan builds each shape once per
    process, with stand-ins for those, and a statement is that shape with its own values put in,
    formatted by tincan's own conversions (tests/xapi/test_emit.py compares the two).
    """
    fields = {
        "verb": verb, "activity_id": activity_id, "activity_name": activity_name,
        "activity_type": activity_type, "registration": registration, "result": result,
        "parent_activity_id": parent_activity_id, "context_extensions": context_extensions,
    }  # fmt: skip
    shape_key = _shape_key(fields, actor)
    if shape_key is None:
        return _build_with_tincan(
            actor, {**fields, "statement_id": statement_id, "timestamp": timestamp}
        )
    shape = _SHAPES.get(shape_key)
    if shape is None:
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        stand_ins = {
            "registration": _STAND_IN_ID if registration is not None else None,
            "statement_id": _STAND_IN_ID,
            "timestamp": _STAND_IN_TIME,
        }
        shape = _SHAPES[shape_key] = json.dumps(
            _build_with_tincan(_StandIn(), {**fields, **stand_ins})
        )
    data: dict[str, Any] = json.loads(shape)
    data["id"] = str(uuid.UUID(str(statement_id))) if statement_id else str(uuid.uuid4())
    data["actor"]["name"] = actor.full_name
    data["actor"]["account"]["name"] = str(actor.pk)
    data["timestamp"] = jsonify_datetime(make_datetime(timestamp or timezone.now()))
    if registration is not None:
        data["context"]["registration"] = str(uuid.UUID(str(registration)))
    return data


# Shapes of statements built by tincan (build_statement), as JSON text: a copy is json.loads.
_SHAPES: dict[tuple[Any, ...], str] = {}
_MAX_SHAPES = 10_000
_STAND_IN_ID = uuid.UUID(int=0)
_STAND_IN_TIME = datetime(2000, 1, 1, tzinfo=UTC)


class _StandIn:
    pk = 0
    full_name = "-"


def _shape_key(fields: dict[str, Any], actor: Any) -> tuple[Any, ...] | None:
    """What a statement's shape depends on; None when it is not shared (extensions, a result
    with other than plain values, a lazy name, a learner without a name): tincan builds it
    whole."""
    if fields["context_extensions"] or not getattr(actor, "full_name", None):
        return None
    name, result = fields["activity_name"], fields["result"]
    if name and any(type(v) is not str for v in name.values()):
        return None  # (a lazy translation would be cached in one language)
    result_items: tuple[Any, ...] | None = None
    if result:
        if any(not isinstance(v, str | int | float | bool | None) for v in result.values()):
            return None
        result_items = tuple(sorted(result.items()))
    return (
        fields["verb"], fields["activity_id"], tuple(sorted(name.items())) if name else None,
        fields["activity_type"], fields["registration"] is not None, result_items,
        fields["parent_activity_id"], settings.SITE_URL,
    )  # fmt: skip


def _build_with_tincan(actor: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """build_statement, every part by tincan (`fields`: its keywords but the actor)."""
    verb, activity_id = fields["verb"], fields["activity_id"]
    activity_name, activity_type = fields.get("activity_name"), fields.get("activity_type")
    registration, result = fields.get("registration"), fields.get("result")
    parent_activity_id = fields.get("parent_activity_id")
    context_extensions = fields.get("context_extensions")
    statement_id, timestamp = fields.get("statement_id"), fields.get("timestamp")
    info = VERBS[verb]
    account = actor_of(actor)
    definition = None
    if activity_name or activity_type:
        definition = ActivityDefinition(
            name=LanguageMap(activity_name) if activity_name else None, type=activity_type
        )
    context = None
    if registration or parent_activity_id or context_extensions:
        context = Context(
            registration=registration,
            context_activities=ContextActivities(parent=[Activity(id=parent_activity_id)])
            if parent_activity_id
            else None,
            extensions=Extensions(context_extensions) if context_extensions else None,
        )
    statement = TinCanStatement(
        id=statement_id or uuid.uuid4(),
        actor=Agent(
            name=account["name"],
            account=AgentAccount(home_page=settings.SITE_URL, name=str(actor.pk)),
        ),
        verb=Verb(id=info["id"], display=LanguageMap(info["display"])),
        object=Activity(id=activity_id, definition=definition),
        result=_result(result) if result else None,
        context=context,
        timestamp=timestamp or timezone.now(),
    )
    data: dict[str, Any] = statement.as_version(store.XAPI_VERSION)
    if result and result.get("duration"):
        # tincan rewrites durations as PTHHMMSS; keep the caller's ISO 8601 text.
        data["result"]["duration"] = result["duration"]
    return data


def platform_authority() -> dict[str, Any]:
    """The authority of the statements the platform itself makes."""
    return {
        "objectType": "Agent",
        "name": "Police Training Network LMS",
        "account": {"homePage": settings.SITE_URL, "name": "lms"},
    }


def emit_many(
    events: Iterable[tuple[Any, dict[str, Any]]], *, buffered: bool = True
) -> list[uuid.UUID]:
    """Store statements of platform events, each an (actor, build_statement keywords) pair, in
    the caller's transaction; return their ids. A `statement_id` (uuid5 of a stable event key)
    makes emitting the same event twice store it once, and forward it once.

    On PostgreSQL one round trip (store.write: the INSERT … ON CONFLICT DO NOTHING and the
    institutions' forwarding targets in the same statement). With the buffered ingest on
    (LMS_XAPI_BUFFERED), statements that void nothing are queued in Redis when the caller's
    transaction commits and inserted by the next drain instead. Only the statements actually
    inserted void what they target and are forwarded (after commit), as the LRS's POST does;
    statements_stored is not sent (lms.xapi.signals: the emitting app already knows).
    buffered=False: inserted in the caller's transaction even with the buffer on (a caller that
    is itself a drain writing a batch behind: courses.first_views).
    """
    now = timezone.now()
    authority = platform_authority()
    rows = [
        store.prepare(
            build_statement(actor=actor, **fields),
            store.Caller(
                institution_id=getattr(actor, "institution_id", None),
                user_id=actor.pk,
                authority=authority,
            ),
            now,
        )
        for actor, fields in events
    ]
    if not rows:
        return []
    # The same event twice in one batch is stored (and forwarded) once.
    unique: dict[uuid.UUID, store.Row] = {}
    for row in rows:
        unique.setdefault(row.statement_id, row)
    if buffered and buffer.enabled() and all(row.voids is None for row in unique.values()):
        # Queued once the caller's transaction commits (nothing if it rolls back) and inserted
        # by the next drain, in a batch (lms.xapi.buffer); reads of the LRS drain first.
        transaction.on_commit(partial(buffer.queue_platform, list(unique.values())))
        return [row.statement_id for row in rows]
    written = store.write(list(unique.values()))
    voided = [
        row.voids
        for row in unique.values()
        if row.voids is not None and row.statement_id in written.inserted
    ]
    if voided:
        Statement.objects.filter(statement_id__in=voided).update(voided=True)
    store.forward_written(written)
    return [row.statement_id for row in rows]


def emit(
    *,
    actor: Any,
    verb: str,
    activity_id: str,
    activity_name: dict[str, str] | None = None,
    activity_type: str | None = None,
    registration: uuid.UUID | None = None,
    result: dict[str, Any] | None = None,
    parent_activity_id: str | None = None,
    context_extensions: dict[str, Any] | None = None,
    statement_id: uuid.UUID | None = None,
    timestamp: datetime | None = None,
) -> uuid.UUID:
    """Store a statement of a platform event in the caller's transaction and return its id.

    With `statement_id` (uuid5 of a stable event key) emitting the same event twice stores once.
    """
    fields = {
        "verb": verb,
        "activity_id": activity_id,
        "activity_name": activity_name,
        "activity_type": activity_type,
        "registration": registration,
        "result": result,
        "parent_activity_id": parent_activity_id,
        "context_extensions": context_extensions,
        "statement_id": statement_id,
        "timestamp": timestamp,
    }
    return emit_many([(actor, fields)])[0]
