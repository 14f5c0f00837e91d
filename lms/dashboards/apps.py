"""Completion dashboards for DPS, donors, coordinators, validators and instructors; reads everything."""

from __future__ import annotations

import importlib

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    name = "lms.dashboards"
    label = "dashboards"
    verbose_name = _("Dashboards")

    def ready(self) -> None:
        from courses import signals as course_signals
        from lms import media
        from lms.dashboards import receivers

        media.register("dashboards/", media.nobody)  # reports through views.report_file

        course_signals.enrollment_changed.connect(
            receivers.on_enrollment_changed, dispatch_uid="dashboards.enrollment_changed"
        )
        course_signals.enrollments_changed.connect(
            receivers.on_enrollments_changed, dispatch_uid="dashboards.enrollments_changed"
        )
        # Activity dates are written in the transaction that completed the lesson (one COMMIT
        # per first view of a lesson, not a transaction of their own after it).
        course_signals.lesson_completed_in_transaction.connect(
            receivers.on_lesson_completed, dispatch_uid="dashboards.lesson_completed"
        )
        course_signals.lessons_completed_in_transaction.connect(
            receivers.on_lessons_completed, dispatch_uid="dashboards.lessons_completed"
        )
        course_signals.course_completed.connect(
            receivers.on_course_completed, dispatch_uid="dashboards.course_completed"
        )
        course_signals.courses_completed.connect(
            receivers.on_courses_completed, dispatch_uid="dashboards.courses_completed"
        )
        course_signals.attendance_recorded.connect(
            receivers.on_attendance_recorded, dispatch_uid="dashboards.attendance_recorded"
        )
        # Certification is a sibling app that may be absent from a deployment: listen when it is.
        try:
            certification_signals = importlib.import_module("certification.signals")
        except ModuleNotFoundError:
            certification_signals = None
        if certification_signals is not None:
            certification_signals.certificate_issued.connect(
                receivers.on_certificate_issued, dispatch_uid="dashboards.certificate_issued"
            )
            # A bulk signal, if certification sends one for a batch of certificates.
            bulk = getattr(certification_signals, "certificates_issued", None)
            if bulk is not None:
                bulk.connect(
                    receivers.on_certificates_issued,
                    dispatch_uid="dashboards.certificates_issued",
                )
            certification_signals.certificate_revoked.connect(
                receivers.on_certificate_revoked, dispatch_uid="dashboards.certificate_revoked"
            )
        self._schedule_monthly_report()

    def _schedule_monthly_report(self) -> None:
        """The monthly report runs at 06:00 UTC on the first day of each month."""
        from celery.schedules import crontab

        from lms.celery import app

        schedule = dict(app.conf.beat_schedule or {})
        schedule["dashboards-monthly-report"] = {
            "task": "lms.dashboards.tasks.send_monthly_report",
            "schedule": crontab(minute=0, hour=6, day_of_month=1),
        }
        app.conf.beat_schedule = schedule
