"""Cursors with server-side binding for hand-written SQL, and prepared statements for the hot
paths' queries.

Django's cursors bind on the client: every value is quoted into the SQL text in Python, and a
text that changes with its values can never be prepared. `bound_cursor()` is a Django cursor
(execute wrappers, error translation, queries logged and counted as any other) over psycopg's
server-binding cursor: the values travel apart, typed (the xAPI store's seventeen arrays of a
write travel as they are).

`bound_cursor(prepare=True)` also prepares what it runs, once per connection. PostgreSQL plans a
query each time it receives its text: for the player's read of a learner's enrolment 0.3-0.6 ms
of the server's CPU against 0.1 ms to run it. A prepared statement is planned for its first five
executions, then keeps a generic plan when that costs no more than the custom ones (each of
these queries reads by a key): about 0.01 ms. Every lesson page and My learning send theirs so.

Setting DB_PREPARED_STATEMENTS (on by default). Behind PgBouncer in transaction mode the pooler
must track protocol-level prepared statements (PgBouncer 1.21 and later with
`max_prepared_statements` above 0, as deploy/ configures it); turn it off for one without.

Values are sent with their types: a parameter that may be NULL, or a string, in a SELECT list
needs a cast in the SQL (`%s::bigint`), or PostgreSQL takes it for text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections, router
from django.db.backends.postgresql.base import CursorDebugWrapper
from django.db.models import Field, Model
from django.dispatch import Signal

# Sent after bulk_update below has written rows on PostgreSQL (Django's own bulk_update, used
# elsewhere, sends nothing: a model's QuerySet overrides it where someone must know), with
# sender the model and objs the rows: a cache of what they hold can forget them.
rows_bulk_updated = Signal()

# Queries a connection keeps prepared (psycopg's least-recently-used cache; it deallocates the
# oldest). The hot paths send a handful of shapes, each in a few variants of parameter types.
PREPARED_MAX = 64
# psycopg prepares a server-binding cursor's query on its own after this many executions; the
# connections here prepare only what asks to be (`prepare=True`), so the count is never reached.
_NEVER = 2**31 - 1


class _Preparing(psycopg.Cursor[Any]):
    """psycopg's server-binding cursor that prepares every query it executes."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs["prepare"] = True
        return super().execute(query, params, **kwargs)


class _Logged(CursorDebugWrapper):
    """Logs a query as Django's own cursors do, its values written in (psycopg does not keep the
    text of a prepared statement's execution)."""

    @contextmanager
    def debug_sql(
        self,
        sql: Any = None,
        params: Any = None,
        use_last_executed_query: bool = False,
        many: bool = False,
    ) -> Iterator[None]:
        if use_last_executed_query and not many:
            sql = self.db.ops.compose_sql(sql, params)
        with super().debug_sql(sql, params, use_last_executed_query=False, many=many):
            yield


def prepares(alias: str = "default") -> bool:
    """Whether bound_cursor(prepare=True) prepares on this database."""
    return connections[alias].vendor == "postgresql" and bool(
        getattr(settings, "DB_PREPARED_STATEMENTS", True)
    )


@contextmanager
def bound_cursor(*, prepare: bool = False, alias: str = "default") -> Iterator[Any]:
    """A cursor binding its values on the server (PostgreSQL; elsewhere connection.cursor()),
    preparing its queries when `prepare` (and prepared statements are on)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    raw = connection.connection
    prepare = prepare and prepares(alias)
    if prepare and raw.prepare_threshold is None:
        # None (Django's default) turns preparing off for the whole connection; _NEVER leaves
        # it to the queries that ask. Django's own cursors bind on the client and never prepare.
        raw.prepare_threshold = _NEVER
        raw.prepared_max = PREPARED_MAX
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        driver = _Preparing(raw) if prepare else psycopg.Cursor(raw)
    # (django-stubs type the argument as Django's wrapper; it is the driver's cursor.)
    if connection.queries_logged:
        cursor = _Logged(driver, connection)  # type: ignore[arg-type]
    else:
        cursor = connection.make_cursor(driver)  # type: ignore[arg-type]
    with cursor:
        yield cursor


def bulk_update(objs: Sequence[Model], fields: Sequence[str], *, batch_size: int = 1000) -> int:
    """Write `fields` of many saved rows of one model, as QuerySet.bulk_update does; returns the
    number of rows updated.

    On PostgreSQL one statement a batch, the values as one typed array per column:
    `UPDATE t SET f = v.f … FROM unnest(%s::type[], …) AS v(id, f, …) WHERE t.id = v.id`.
    Django's bulk_update builds a `CASE WHEN id = … THEN …` expression per row and column, which
    for a run's 300 released grades took about a third of the request in Python. Elsewhere (the
    bare laptop's SQLite) it is Django's. No signals, no auto_now, as bulk_update."""
    if not objs:
        return 0
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        return int(model._default_manager.bulk_update(objs, fields, batch_size=batch_size))
    meta = model._meta
    columns: list[Field[Any, Any]] = []
    for name in [meta.pk.name, *fields]:  # type: ignore[union-attr]
        field = meta.get_field(name)
        if not isinstance(field, Field) or not field.concrete:
            raise ValueError(f"bulk_update writes the model's own columns, not {name!r}")
        columns.append(field)
    quote = connection.ops.quote_name
    names = [quote(field.column) for field in columns]
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in columns)
    # Identifiers quoted, types from the fields: no value is written into the text.
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET "  # noqa: S608
        + ", ".join(f"{name} = v.{name}" for name in names[1:])
        + f" FROM unnest({arrays}) AS v({', '.join(names)}) WHERE t.{names[0]} = v.{names[0]}"
    )
    updated = 0
    with bound_cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            cursor.execute(
                sql,
                [
                    [
                        field.get_db_prep_save(getattr(obj, field.attname), connection)
                        for obj in batch
                    ]
                    for field in columns
                ],
            )
            updated += cursor.rowcount
    rows_bulk_updated.send(sender=model, objs=objs)
    return updated
