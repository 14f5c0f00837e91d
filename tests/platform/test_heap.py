"""The web's and the workers' start-up heap frozen out of the collector's full walks (lms.heap)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from tests.processes import python

# The real entry point in a fresh interpreter: objects frozen, and a full collection's time then.
WEB = (
    "import gc, time; import lms.wsgi; t = time.perf_counter(); gc.collect(); "
    "print(gc.get_freeze_count(), round((time.perf_counter() - t) * 1000, 1))"
)


@pytest.fixture
def thawed() -> Iterator[None]:
    """The test process's heap as it was: whatever a test freezes goes back to the collector."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_web_process_freezes_what_it_loaded() -> None:
    result = python(WEB)
    assert result.returncode == 0, result.stderr
    frozen, millis = result.stdout.split()[-2:]
    # Django, the apps, the URLconf's views: far more than a bare interpreter's few thousand;
    # a full collection then walks only what came after (about 200 ms without).
    assert int(frozen) > 100_000
    assert float(millis) < 50


def test_the_handlers_and_a_celery_worker_process_freeze(thawed: None) -> None:
    from lms import celery, handlers

    handlers.get_asgi_application()
    assert gc.get_freeze_count() > 100_000
    gc.unfreeze()
    celery._freeze_heap()  # what worker_process_init runs in each worker process
    assert gc.get_freeze_count() > 100_000


def test_freezing_can_be_turned_off(thawed: None, monkeypatch: Any) -> None:
    from lms import heap

    monkeypatch.setenv("LMS_GC_FREEZE", "0")
    assert heap.freeze() == 0
    assert gc.get_freeze_count() == 0
    monkeypatch.setenv("LMS_GC_FREEZE", "1")
    assert heap.freeze() > 100_000
