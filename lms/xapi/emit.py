"""The platform's own learning events as xAPI statements, stored in the caller's transaction.

from lms.xapi.emit import emit, activity_iri
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
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

from lms.xapi import store
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
    """The statement as a JSON-ready dict, built with the tincan package."""
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


def emit_many(events: Iterable[tuple[Any, dict[str, Any]]]) -> list[uuid.UUID]:
    """Store statements of platform events, each an (actor, build_statement keywords) pair, in
    the caller's transaction; return their ids. A `statement_id` (uuid5 of a stable event key)
    makes emitting the same event twice store it once, and forward it once.

    On PostgreSQL one round trip (store.write: the INSERT … ON CONFLICT DO NOTHING and the
    institutions' forwarding targets in the same statement). Only the statements actually
    inserted void what they target and are forwarded (after commit), as the LRS's POST does;
    statements_stored is not sent (lms.xapi.signals: the emitting app already knows).
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
