"""PDF certificates that anyone can verify: issuance, signature, revocation, renewal."""

from __future__ import annotations

import ctypes.util
import logging
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("certification")


def check_harfbuzz_subset(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Without libharfbuzz-subset WeasyPrint silently subsets fonts in Python, about six times
    slower: warn at start."""
    if ctypes.util.find_library("harfbuzz-subset"):
        return []
    return [
        checks.Warning(
            "libharfbuzz-subset0 is not installed: certificate PDFs render about six times slower.",
            hint="apt-get install libharfbuzz-subset0",
            id="certification.W001",
        )
    ]


class CertificationConfig(AppConfig):
    name = "certification"
    label = "certification"
    verbose_name = _("Certificates")

    def ready(self) -> None:
        from django.conf import settings

        from certification import permissions, receivers
        from courses import signals as course_signals

        permissions.register()
        from django.utils.translation import gettext_lazy as _

        from courses.content import register_learner_link

        register_learner_link("certification:my_certificates", _("My certificates"))
        course_signals.course_completed.connect(
            receivers.on_course_completed, dispatch_uid="certification.course_completed"
        )
        checks.register(check_harfbuzz_subset)
        # Daily expiry reminders, registered with Celery beat from here (no settings edit).
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "certification-expiry-reminders",
            {"task": "certification.send_expiry_reminders", "schedule": 24 * 60 * 60},
        )
        for warning in check_harfbuzz_subset():
            logger.warning("%s %s", warning.msg, warning.hint)
