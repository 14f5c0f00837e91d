"""The Celery application; tasks are discovered in every installed app's tasks.py."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")

app = Celery("lms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _freeze_heap(**_kwargs: Any) -> None:
    """Each worker process, once the tasks are loaded: its start-up heap out of the collector's
    full walks (lms.heap)."""
    from lms import heap

    heap.freeze()


def _database_connections_as_for_requests(sender: Any = None, **_kwargs: Any) -> None:
    """Before and after each task, what Django does around each request: a connection older
    than CONN_MAX_AGE, or broken, is closed; a healthy one is kept for the next task.

    Celery's Django fix-up closes the connections around every task unless CELERY_DB_REUSE_MAX
    is set (settings: the fix-up then closes them only every that many tasks). Closed each time,
    every drain of the LRS's buffer and of the lesson player's first views started a new
    PostgreSQL backend, which built its catalogue caches and planned every query again: about
    60 ms of the database's CPU a task, a tenth of a first view's whole cost under load. A task
    run eagerly (the tests, a laptop) runs inside its caller, whose connection is the caller's."""
    request = getattr(sender, "request", None)
    if getattr(request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


task_prerun.connect(_database_connections_as_for_requests, weak=False)
task_postrun.connect(_database_connections_as_for_requests, weak=False)
