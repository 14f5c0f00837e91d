"""Keep the sections' question pools current, and tell courses where assessment lessons are
taken."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.urls import reverse


def _question_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from assessments.services import rebuild_pools_for_category

    # In the same transaction, so that a draw never sees a pool older than the bank.
    rebuild_pools_for_category(category_id=instance.category_id)


def _section_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    from assessments.services import rebuild_pool

    if kwargs.get("update_fields") == frozenset({"pool"}):
        return
    rebuild_pool(section=instance)


def _lesson_url(enrollment: Any, lesson: Any) -> str | None:
    from assessments.models import Assessment

    pk = Assessment.objects.filter(lesson_id=lesson.pk).values_list("pk", flat=True).first()
    return reverse("assessments:overview", args=[pk]) if pk else None


def connect() -> None:
    """Connect the receivers (called from AssessmentsConfig.ready())."""
    from assessments.models import AssessmentSection, Question
    from courses.content import register_lesson_url

    post_save.connect(_question_changed, sender=Question, dispatch_uid="assessments_q_saved")
    post_delete.connect(_question_changed, sender=Question, dispatch_uid="assessments_q_deleted")
    post_save.connect(_section_saved, sender=AssessmentSection, dispatch_uid="assessments_section")
    register_lesson_url("assessment", _lesson_url)
