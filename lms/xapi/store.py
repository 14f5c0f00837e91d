"""Writing statements: completing them (id, stored, timestamp, authority), extracting the indexed
columns, and inserting many in one round trip."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from lms.db import bound_cursor
from lms.xapi.models import Statement, agent_key
from lms.xapi.verbs import VOIDED_IRI

XAPI_VERSION = "1.0.3"


@dataclass
class Caller:
    """Who is writing or reading: a client, a launch credential or a platform user."""

    institution_id: int | None
    client_id: int | None = None
    user_id: int | None = None
    # Reading scope: "institution", "own" (client), "learner" (launch/session: one learner).
    scope: str = "own"
    registration: uuid.UUID | None = None
    authority: dict[str, Any] | None = None
    actor_key: str = ""
    # The materialised path of the client's institution ("12/45/"), read with the client, so
    # that "this institution and its units" is a subquery of the statements query.
    institution_path: str = ""
    # Set when the launch credential was taken from the in-process cache (lms.xapi.auth): the
    # write confirms it in the same round trip as the INSERT, and stores nothing if it is not.
    confirm: LaunchCheck | None = None


@dataclass(frozen=True, slots=True)
class LaunchCheck:
    """What a cached launch credential must still be in the database for a write to happen."""

    key: str
    secret: str
    secret_hash: str
    user_id: int
    registration: uuid.UUID
    institution_id: int | None


class CredentialRejected(Exception):
    """The cached launch credential no longer holds (revoked, expired, user suspended, changed):
    nothing was written; authenticate again against the database."""


def _activities(statement: dict[str, Any]) -> list[str]:
    found: list[str] = []
    obj = statement.get("object") or {}
    kind = obj.get("objectType", "Activity")
    if kind == "Activity" and obj.get("id"):
        found.append(obj["id"])
    elif kind == "SubStatement":
        found.extend(_activities(obj))
    context_activities = (statement.get("context") or {}).get("contextActivities") or {}
    for item in context_activities.values():
        for activity in item if isinstance(item, list) else [item]:
            if isinstance(activity, dict) and activity.get("id"):
                found.append(activity["id"])
    return list(dict.fromkeys(found))


def _agents_of(agent: dict[str, Any] | None) -> list[str]:
    if not agent:
        return []
    keys = [agent_key(agent)]
    for member in agent.get("member") or []:
        keys.append(agent_key(member))
    return [key for key in keys if key]


def _agents(statement: dict[str, Any]) -> list[str]:
    found = _agents_of(statement.get("actor"))
    obj = statement.get("object") or {}
    if obj.get("objectType") in {"Agent", "Group"}:
        found += _agents_of(obj)
    elif obj.get("objectType") == "SubStatement":
        found += _agents(obj)
    context = statement.get("context") or {}
    found += _agents_of(context.get("instructor")) + _agents_of(context.get("team"))
    found += _agents_of(statement.get("authority"))
    return list(dict.fromkeys(found))


def _normalise_activities(statement: dict[str, Any]) -> None:
    """contextActivities values are always arrays once stored."""
    context_activities = (statement.get("context") or {}).get("contextActivities")
    if isinstance(context_activities, dict):
        for key, value in list(context_activities.items()):
            if isinstance(value, dict):
                context_activities[key] = [value]
    obj = statement.get("object") or {}
    if obj.get("objectType") == "SubStatement":
        if isinstance(obj.get("object"), dict) and "objectType" not in obj["object"]:
            obj["object"] = {**obj["object"], "objectType": "Activity"}
        if isinstance(obj.get("actor"), dict) and "objectType" not in obj["actor"]:
            obj["actor"] = {**obj["actor"], "objectType": "Agent"}
        _normalise_activities(obj)


def prepare(statement: dict[str, Any], caller: Caller, now: datetime) -> Row:
    """Complete a valid statement the way the LRS stores it and extract its columns."""
    statement = dict(statement)
    statement.setdefault("id", str(uuid.uuid4()))
    statement["id"] = statement["id"].lower()
    stamp = now.isoformat().replace("+00:00", "Z")
    statement["stored"] = stamp
    given_timestamp = statement.setdefault("timestamp", stamp) is not stamp
    statement.setdefault("version", XAPI_VERSION)
    if caller.authority:
        statement["authority"] = caller.authority
    obj = statement["object"]
    if "objectType" not in obj:
        obj = statement["object"] = {**obj, "objectType": "Activity"}
    actor = statement["actor"]
    if "objectType" not in actor:
        statement["actor"] = {**actor, "objectType": "Agent"}
    _normalise_activities(statement)
    registration = (statement.get("context") or {}).get("registration")
    timestamp = (parse_datetime(statement["timestamp"]) or now) if given_timestamp else now
    if timezone.is_naive(timestamp):
        timestamp = timezone.make_aware(timestamp, UTC)
    voids = object_ref = None
    if obj.get("objectType") == "StatementRef":
        object_ref = uuid.UUID(obj["id"])
        if statement["verb"]["id"] == VOIDED_IRI:
            voids = object_ref
    return Row(
        statement_id=uuid.UUID(statement["id"]),
        data=statement,
        actor_key=agent_key(statement["actor"])[:512],
        verb_id=statement["verb"]["id"][:512],
        activity_id=obj.get("id", "") if obj.get("objectType") == "Activity" else "",
        registration=uuid.UUID(registration) if registration else None,
        related_activities=_activities(statement),
        related_agents=_agents(statement),
        timestamp=timestamp,
        stored=now,
        voids=voids,
        object_ref=object_ref,
        institution_id=caller.institution_id,
        client_id=caller.client_id,
        user_id=caller.user_id,
        has_attachments=bool(statement.get("attachments")),
    )


@dataclass(slots=True)
class Row:
    """A prepared statement: the columns of one xapi_statement row.

    A plain slotted object rather than a model instance: a batch of 1,000 would otherwise pay
    for 1,000 Model.__init__ calls and their pre_init/post_init signals before COPY.
    """

    statement_id: uuid.UUID
    data: dict[str, Any]
    actor_key: str
    verb_id: str
    activity_id: str
    registration: uuid.UUID | None
    related_activities: list[str]
    related_agents: list[str]
    timestamp: datetime
    stored: datetime
    voids: uuid.UUID | None
    object_ref: uuid.UUID | None
    institution_id: int | None
    client_id: int | None
    user_id: int | None
    has_attachments: bool
    voided: bool = False

    def model(self) -> Statement:
        """The same row as a model instance (for the ORM's INSERT)."""
        return Statement(**{name: getattr(self, name) for name in self.__slots__})  # type: ignore[attr-defined]


# The columns a batch is copied into, in the order _copy_row gives them.
COPY_COLUMNS = (
    "statement_id",
    "data",
    "actor_key",
    "verb_id",
    "activity_id",
    "registration",
    "related_activities",
    "related_agents",
    "timestamp",
    "stored",
    "voided",
    "voids",
    "object_ref",
    "institution_id",
    "client_id",
    "user_id",
    "has_attachments",
)
_COPY_SQL = f"COPY xapi_statement ({', '.join(COPY_COLUMNS)}) FROM STDIN"


def _copy_row(row: Row) -> tuple[Any, ...]:
    return (
        row.statement_id,
        json.dumps(row.data),
        row.actor_key,
        row.verb_id,
        row.activity_id,
        row.registration,
        json.dumps(row.related_activities),
        json.dumps(row.related_agents),
        row.timestamp,
        row.stored,
        row.voided,
        row.voids,
        row.object_ref,
        row.institution_id,
        row.client_id,
        row.user_id,
        row.has_attachments,
    )


def insert(rows: list[Row], *, ignore_conflicts: bool = False) -> None:
    """Insert prepared statements in one round trip and mark what they void.

    On PostgreSQL a batch goes in with COPY (no per-value SQL quoting, one stream); a statement id
    stored meanwhile by another request makes COPY fail with IntegrityError, as the INSERT would.
    `ignore_conflicts` (the platform's own idempotent statements) keeps the INSERT … ON CONFLICT.
    """
    if not rows:
        return
    if connection.vendor == "postgresql" and not ignore_conflicts:
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,
            cursor.cursor.copy(_COPY_SQL) as copy,
        ):
            for row in rows:
                copy.write_row(_copy_row(row))
    else:
        Statement.objects.bulk_create(
            [row.model() for row in rows], batch_size=1000, ignore_conflicts=ignore_conflicts
        )
    targets = [row.voids for row in rows if row.voids is not None]
    if targets:
        Statement.objects.filter(statement_id__in=targets).update(voided=True)
    forward_on_commit(rows)


# The column types of COPY_COLUMNS, for the arrays `write` unnests.
_ARRAY_TYPES = (
    "uuid",
    "jsonb",
    "text",
    "text",
    "text",
    "uuid",
    "jsonb",
    "jsonb",
    "timestamptz",
    "timestamptz",
    "boolean",
    "uuid",
    "uuid",
    "bigint",
    "bigint",
    "bigint",
    "boolean",
)


@dataclass(slots=True)
class Written:
    """What `write` did: whether the credential held, and the ids it inserted (the others of
    the batch were already stored), by forwarding target (None: not forwarded)."""

    confirmed: bool
    inserted: dict[uuid.UUID, int | None]


_WRITE_SQL: dict[tuple[bool, bool, int], str] = {}
# Up to this many rows a write sends one parameter per value (a VALUES list): psycopg dumps
# scalars in C but arrays in Python, 17 of them costing more than the statement's own work.
# Larger batches send seventeen arrays, whatever their size.
VALUES_ROWS = 20


def launch_holds_sql(
    key: str = "%s",
    secret_hash: str = "%s",  # noqa: S107 - an SQL placeholder, not a password
    user: str = "%s",
    registration: str = "%s",
    institution: str = "%s",
    at: str = "now()",
) -> str:
    """A query with a row when a launch credential still holds: not deleted, the same secret,
    not expired at `at`, its learner the same, not suspended and in the same institution. The
    arguments are SQL expressions (placeholders by default, with launch_holds_params; the
    buffer's drain passes columns, lms.xapi.buffer). One parameter is always a placeholder:
    the suspended status, between the registration's and the institution's."""
    from django.contrib.auth import get_user_model

    from lms.xapi.models import LaunchCredential

    return (
        f"SELECT 1 FROM {LaunchCredential._meta.db_table} lc "  # noqa: S608
        f"JOIN {get_user_model()._meta.db_table} u ON u.id = lc.user_id "
        f"WHERE lc.key = {key} AND lc.secret_hash = {secret_hash} AND lc.expires_at > {at} "
        f"AND lc.user_id = {user} AND lc.registration = {registration} AND u.status <> %s "
        f"AND u.institution_id IS NOT DISTINCT FROM {institution}"
    )


def launch_holds_params(check: LaunchCheck) -> list[Any]:
    from lms.accounts.models import User

    return [
        check.key,
        check.secret_hash,
        check.user_id,
        check.registration,
        User.Status.SUSPENDED.value,
        check.institution_id,
    ]


def _write_sql(confirm: bool, forwarding: bool, rows: int) -> str:
    """The text of a write; `rows` > 0: a VALUES list of that many rows, 0: unnested arrays."""
    sql = _WRITE_SQL.get((confirm, forwarding, rows))
    if sql is not None:
        return sql
    from lms.xapi.models import ForwardingTarget

    # Only table and column names of this code go into the text; every value is a parameter.
    ok = launch_holds_sql() if confirm else "SELECT 1"
    if rows:
        row = "(" + ", ".join(f"%s::{kind}" for kind in _ARRAY_TYPES) + ")"
        source = f"(VALUES {', '.join([row] * rows)}) AS v"
    else:
        unnest = ", ".join(f"%b::{kind}[]" for kind in _ARRAY_TYPES)  # binary: no escaping
        source = f"unnest({unnest})"
    target = (
        f"(SELECT ft.id FROM {ForwardingTarget._meta.db_table} ft "  # noqa: S608
        "WHERE ft.institution_id = ins.institution_id AND ft.is_active)"
        if forwarding
        else "NULL::bigint"
    )
    sql = (
        f"WITH ok AS MATERIALIZED ({ok}), "  # noqa: S608
        f"ins AS (INSERT INTO {Statement._meta.db_table} ({', '.join(COPY_COLUMNS)}) "
        f"SELECT * FROM {source} WHERE EXISTS (SELECT 1 FROM ok) "
        "ON CONFLICT (statement_id) DO NOTHING RETURNING statement_id, institution_id) "
        f"SELECT EXISTS (SELECT 1 FROM ok), ins.statement_id, {target} "
        "FROM (SELECT 1) AS one LEFT JOIN ins ON true"
    )
    _WRITE_SQL[(confirm, forwarding, rows)] = sql
    return sql


def write(rows: list[Row], *, confirm: LaunchCheck | None = None) -> Written:
    """Insert the statements of `rows` not stored yet, in one round trip on PostgreSQL: the
    INSERT … ON CONFLICT DO NOTHING, the check of a cached launch credential (nothing is
    inserted unless it still holds) and each institution's forwarding target, read in the same
    statement so that a change of forwarding is seen by the next write without any cache.

    Voiding, forwarding and statements_stored are the caller's (only for `inserted`).
    """
    forwarding = bool(getattr(settings, "XAPI_FORWARDING", True))
    if not rows:
        return Written(confirmed=confirm is None or confirm_launch(confirm), inserted={})
    if connection.vendor != "postgresql":
        return _write_portable(rows, confirm, forwarding)
    params: list[Any] = []
    if confirm is not None:
        params += launch_holds_params(confirm)
    values = [_copy_row(row) for row in rows]
    if len(rows) <= VALUES_ROWS:
        params += [value for row_values in values for value in row_values]
    else:
        params += [list(column) for column in zip(*values, strict=True)]
    sql = _write_sql(confirm is not None, forwarding, len(rows) if len(rows) <= VALUES_ROWS else 0)
    with bound_cursor() as cursor:
        cursor.execute(sql, params)
        result = cursor.fetchall()
    confirmed = bool(result[0][0])
    inserted = {statement_id: target_id for _ok, statement_id, target_id in result if statement_id}
    return Written(confirmed=confirmed, inserted=inserted)


def _write_portable(rows: list[Row], confirm: LaunchCheck | None, forwarding: bool) -> Written:
    """`write` in several queries, for databases other than PostgreSQL (tests on SQLite)."""
    if confirm is not None and not confirm_launch(confirm):
        return Written(confirmed=False, inserted={})
    existing = set(stored_data([row.statement_id for row in rows]))
    new = [row for row in rows if str(row.statement_id) not in existing]
    Statement.objects.bulk_create([row.model() for row in new])
    targets: dict[int, int] = {}
    if forwarding:
        from lms.xapi.models import ForwardingTarget

        targets = dict(
            ForwardingTarget.objects.filter(
                institution_id__in={row.institution_id for row in new}, is_active=True
            ).values_list("institution_id", "pk")
        )
    return Written(
        confirmed=True,
        inserted={
            row.statement_id: targets.get(row.institution_id) if row.institution_id else None
            for row in new
        },
    )


def confirm_launch(check: LaunchCheck) -> bool:
    """Whether a cached launch credential still holds, in one query."""
    from lms.accounts.models import User
    from lms.xapi.models import LaunchCredential

    return (
        LaunchCredential.objects.filter(
            key=check.key,
            secret_hash=check.secret_hash,
            expires_at__gt=timezone.now(),
            user_id=check.user_id,
            registration=check.registration,
        )
        .filter(
            Q(user__institution_id=check.institution_id)
            if check.institution_id is not None
            else Q(user__institution_id__isnull=True)
        )
        .exclude(user__status=User.Status.SUSPENDED)
        .exists()
    )


def forward_written(written: Written) -> None:
    """Queue the copy of the inserted statements to their forwarding targets after commit."""
    by_target: dict[int, list[str]] = {}
    for statement_id, target_id in written.inserted.items():
        if target_id is not None:
            by_target.setdefault(target_id, []).append(str(statement_id))
    if not by_target:
        return
    from lms.xapi.tasks import forward_statements

    for target_id, ids in by_target.items():
        transaction.on_commit(partial(forward_statements.delay, target_id, ids))


def stored_data(statement_ids: list[uuid.UUID]) -> dict[str, dict[str, Any]]:
    """The stored statements among `statement_ids` (str id -> data), in one query.

    On PostgreSQL the ids travel as one array parameter rather than a thousand placeholders.
    """
    if not statement_ids:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT statement_id, data FROM xapi_statement WHERE statement_id = ANY(%s)",
                [statement_ids],
            )
            return {
                str(statement_id): data if isinstance(data, dict) else json.loads(data)
                for statement_id, data in cursor.fetchall()
            }
    return {
        str(statement_id): data
        for statement_id, data in Statement.objects.filter(
            statement_id__in=statement_ids
        ).values_list("statement_id", "data")
    }


def forward_on_commit(rows: Iterable[Row]) -> None:
    """Queue the copy to each institution's external LRS once the statements are committed."""
    by_institution: dict[int, list[str]] = {}
    for row in rows:
        if row.institution_id:
            by_institution.setdefault(row.institution_id, []).append(str(row.statement_id))
    if not by_institution or not getattr(settings, "XAPI_FORWARDING", True):
        return
    from lms.xapi.models import ForwardingTarget

    targets = dict(
        ForwardingTarget.objects.filter(
            institution_id__in=list(by_institution), is_active=True
        ).values_list("institution_id", "pk")
    )
    if not targets:
        return
    from lms.xapi.tasks import forward_statements

    for institution_id, target_id in targets.items():
        ids = by_institution[institution_id]
        transaction.on_commit(partial(forward_statements.delay, target_id, ids))


def comparable(value: Any) -> Any:
    """A statement part with the defaults the LRS fills in, for equality checks."""
    if isinstance(value, dict):
        result = {k: comparable(v) for k, v in value.items()}
        if "objectType" in result and result["objectType"] in {"Activity", "Agent"}:
            result.pop("objectType")
        if isinstance(result.get("mbox"), str):
            result["mbox"] = result["mbox"].lower()
        for key in ("parent", "grouping", "category", "other"):
            if isinstance(result.get(key), dict):
                result[key] = [result[key]]
        return result
    if isinstance(value, list):
        return [comparable(item) for item in value]
    return value


def same_statement(existing: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """Whether `incoming` is the statement `existing` stored (the same id may be sent again)."""
    ignored = {"stored", "authority", "version", "id"}
    if "timestamp" not in incoming:
        ignored.add("timestamp")
    left = {k: v for k, v in existing.items() if k not in ignored}
    right = {k: v for k, v in incoming.items() if k not in ignored}
    if "timestamp" in left and "timestamp" in right:
        a, b = parse_datetime(left.pop("timestamp")), parse_datetime(right.pop("timestamp"))
        if a != b:
            return False
    return bool(comparable(left) == comparable(right))
