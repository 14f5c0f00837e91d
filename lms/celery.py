"""The Celery application; tasks are discovered in every installed app's tasks.py."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

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
