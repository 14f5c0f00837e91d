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


def check_signing_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A deployment without the certificates' signing keys (nor leave to generate them) would
    fail every certificate's issuance: say so before it starts (check --deploy, which the
    deployments run before migrating)."""
    from certification import keys

    return [
        checks.Error(
            problem,
            hint="python manage.py certification_keys prints a new set for the deployment's "
            "secrets (deploy/RUNBOOK.md).",
            id="certification.E001",
        )
        for problem in keys.problems()
    ]


def preload_for_workers(**kwargs: Any) -> None:
    """In a Celery worker's main process, before it forks its pool: load what every issuing
    process needs once (URL configuration, fonts and stylesheet, the signing key), so that each
    forked process shares it instead of paying a second or two for it on its first certificate.
    A failure here only costs that time later."""
    try:
        from django.urls import get_resolver

        from certification import rendering, signing

        get_resolver().url_patterns  # noqa: B018 - imports the URL configuration
        rendering.font_configuration()
        rendering.preload_stylesheet()
        signing.preload()
    except Exception:  # noqa: BLE001 - an optimisation must never stop a worker
        logger.warning("certification: preloading for the worker failed", exc_info=True)


class CertificationConfig(AppConfig):
    name = "certification"
    label = "certification"
    verbose_name = _("Certificates")

    def ready(self) -> None:
        from django.conf import settings

        from certification import permissions, receivers
        from courses import signals as course_signals

        permissions.register()
        from lms import media

        # PDFs through their own view (certification.views.download_pdf), signatures never
        media.register("certification/", media.nobody)
        from django.utils.translation import gettext_lazy as _

        from courses.content import register_learner_link

        register_learner_link("certification:my_certificates", _("My certificates"))
        course_signals.course_completed.connect(
            receivers.on_course_completed, dispatch_uid="certification.course_completed"
        )
        course_signals.courses_completed.connect(
            receivers.on_courses_completed, dispatch_uid="certification.courses_completed"
        )
        checks.register(check_harfbuzz_subset)
        checks.register(check_signing_keys, checks.Tags.security, deploy=True)
        from celery import signals as celery_signals

        celery_signals.worker_init.connect(
            preload_for_workers, weak=False, dispatch_uid="certification.preload"
        )
        # Daily expiry reminders, registered with Celery beat from here (no settings edit).
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "certification-expiry-reminders",
            {"task": "certification.send_expiry_reminders", "schedule": 24 * 60 * 60},
        )
        for warning in check_harfbuzz_subset():
            logger.warning("%s %s", warning.msg, warning.hint)
