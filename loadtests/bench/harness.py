"""What the benchmarks time requests with: test clients that share one handler, and a query count
that does not log the queries.

A Django test client builds its own handler, and the handler its middleware on its first
request; with DEBUG off WhiteNoise then indexes every static file (about 190 here, 11 ms), so a
benchmark making a client per officer timed that in each officer's first request. A server builds
the middleware once per process: new_client() shares one handler the same way.

Django's CaptureQueriesContext turns on the debug cursor, which writes every query's values into
its SQL text (psycopg's mogrify) and keeps it: for a bulk statement of thousands of values that
costs more than running it (a release of 300 officers' grades: 0.35 of 2.4 s under cProfile), so
the figures it timed were not what a server with DEBUG off does. Here a wrapper around the
connection's execute only counts (one for an executemany, as Django's log does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.test import Client
from django.test.client import ClientHandler

_shared: list[ClientHandler] = []


def new_client() -> Client:
    """A test client whose handler (and its middleware) is the process's one, as a server's."""
    client = Client()
    if not _shared:
        _shared.append(client.handler)
    client.handler = _shared[0]
    return client


class Count:
    """How many queries ran; len() of it, as of a CaptureQueriesContext."""

    def __init__(self) -> None:
        self.queries = 0

    def __len__(self) -> int:
        return self.queries


@contextmanager
def counted_queries(alias: str = "default") -> Iterator[Count]:
    """Count the queries run on this thread's connection `alias` inside the block."""
    count = Count()

    def counter(
        execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any
    ) -> Any:
        count.queries += 1
        return execute(sql, params, many, context)

    with connections[alias].execute_wrapper(counter):
        yield count
