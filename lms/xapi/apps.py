"""The Learning Record Store (xAPI 1.0.3) and the statement emitter; knows nothing of courses."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class XapiConfig(AppConfig):
    name = "lms.xapi"
    label = "xapi"
    verbose_name = _("Learning Record Store")

    def ready(self) -> None:
        from lms.celery import app
        from lms.xapi import permissions
        from lms.xapi.tasks import SWEEP_SECONDS

        permissions.register()
        # Buffered statements never wait for a push that does not come (lms.xapi.buffer).
        app.conf.beat_schedule.setdefault(
            "xapi-drain-sweep",
            {"task": "lms.xapi.tasks.drain_statements", "schedule": SWEEP_SECONDS},
        )
