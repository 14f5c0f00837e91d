"""Running a function in several threads at once, each on its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def at_once(function: Callable[[], Any], count: int = 2) -> tuple[list[Any], list[Exception]]:
    """Call `function` in `count` threads released together; what they returned and raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[Exception] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(function())
        except Exception as exc:  # returned to the caller, which asserts on it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
