"""Question banks, quizzes and exams, grading with rubrics, practical evaluations."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "assessments"
    label = "assessments"
    verbose_name = _("Assessments")

    def ready(self) -> None:
        from assessments import receivers

        receivers.connect()
