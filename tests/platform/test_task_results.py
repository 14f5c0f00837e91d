"""The drains sent many times a second under load (the xAPI buffer's, the first views') keep no
result: nobody reads one, and each stored result was a key in Redis for a day (hundreds of
thousands a day at the load model's peak) besides a subscription by the sender and a publish by
the worker. Tasks whose result is read (a report's month, say) keep theirs."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis
from celery.signals import task_postrun
from django.conf import settings

from courses.tasks import drain_first_views
from lms.dashboards.tasks import send_monthly_report
from lms.xapi.tasks import drain_statements

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def _run_on_the_worker(task: Any, *args: Any) -> str:
    """Send `task` to the real worker and wait until it has finished (after its result, if any,
    was stored: Celery stores it before task_postrun)."""
    finished = threading.Event()
    sent: list[str] = []

    def done(task_id: str | None = None, **kwargs: Any) -> None:
        if sent and task_id == sent[0]:
            finished.set()

    task_postrun.connect(done, weak=False)
    try:
        sent.append(task.apply_async(args=args).id)
        assert finished.wait(60), f"{task.name} did not run"
    finally:
        task_postrun.disconnect(done)
    return sent[0]


@pytest.mark.parametrize("task", [drain_first_views, drain_statements], ids=lambda t: t.name)
def test_a_drain_leaves_no_result_in_redis(
    celery_worker: Any, require_postgres: None, task: Any
) -> None:
    task_id = _run_on_the_worker(task)
    backend = redis.Redis.from_url(settings.CELERY_RESULT_BACKEND)
    assert backend.exists(f"celery-task-meta-{task_id}") == 0


def test_a_task_whose_result_is_read_keeps_it(celery_worker: Any, require_postgres: None) -> None:
    """The control: the same worker and backend store a result where it is asked for."""
    task_id = _run_on_the_worker(send_monthly_report, "2026-10")
    backend = redis.Redis.from_url(settings.CELERY_RESULT_BACKEND)
    assert backend.exists(f"celery-task-meta-{task_id}") == 1
