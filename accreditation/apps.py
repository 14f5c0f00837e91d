from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccreditationConfig(AppConfig):
    name = "accreditation"
    label = "accreditation"
    verbose_name = _("Accreditation")

    def ready(self) -> None:
        from accreditation import permissions, receivers
        from courses.signals import course_version_created
        from lms.celery import app

        permissions.register()
        course_version_created.connect(
            receivers.on_course_version_created, dispatch_uid="accreditation-rereview"
        )
        app.conf.beat_schedule.setdefault(
            "accreditation-expiry-warnings",
            {"task": "accreditation.tasks.warn_expiring_accreditations", "schedule": 24 * 3600.0},
        )
