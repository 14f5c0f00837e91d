"""Keep the sections' question pools current, and tell courses where assessment lessons are
taken."""

from __future__ import annotations

import time
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.urls import get_script_prefix, reverse

from assessments.links import with_registration
from lms.memo import Memo

# Which assessment a quiz lesson opens, asked by the lesson player on every view of one (the
# revisits of a final quiz cost a query each for it, more than the rest of the page). A lesson
# has at most one assessment and its id never changes, so each process remembers the answers it
# found for ASSESSMENT_LINK_SECONDS: an assessment created is linked at once (a lesson without
# one is not remembered), one deleted in this process is forgotten at once (the receivers
# below), and in another process within that bound (until then its link finds no page). The
# link itself is kept with the script prefix it was built under (reverse() was the rest of
# this function's time on a revisit).
ASSESSMENT_LINK_SECONDS = 60.0
_assessment_of: Memo[int, tuple[float, str, str]] = Memo(5000)


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
    """The assessment's page for this enrolment: the enrolment's registration in the address,
    so that a learner enrolled twice in the course's version (a completed run and a new one)
    takes it in the run they came from."""
    from assessments.models import Assessment

    now = time.monotonic()
    prefix = get_script_prefix()
    known = _assessment_of.get(lesson.pk)
    if known is not None and known[0] > now and known[1] == prefix:
        url = known[2]
    else:
        pk = Assessment.objects.filter(lesson_id=lesson.pk).values_list("pk", flat=True).first()
        if pk is None:
            return None
        url = reverse("assessments:overview", args=[pk])
        _assessment_of.put(lesson.pk, (now + ASSESSMENT_LINK_SECONDS, prefix, url))
    return with_registration(url, enrollment.registration)


def _assessment_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    _assessment_of.forget([instance.lesson_id])


def _lesson_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    # a lesson saved under an id used before (a test database's) starts with no link
    _assessment_of.forget([instance.pk])


def answer_file(user: Any, name: str) -> bool:
    """Whether `user` may read the uploaded answer stored as `name` (lms.media; stored under
    assessments/<attempt>/<question>/): the learner whose attempt it is, and those who may
    grade the attempt's run."""
    if not user.is_authenticated:
        return False
    from assessments.models import Answer
    from lms.accounts.permissions import has_perm

    parts = name.split("/")
    if len(parts) < 4 or not (parts[1].isdigit() and parts[2].isdigit()):
        return False
    answer = (
        Answer.objects.filter(attempt_id=int(parts[1]), question_id=int(parts[2]), file=name)
        .select_related("attempt__run")
        .first()
    )
    if answer is None:
        return False
    return answer.attempt.user_id == user.pk or has_perm(
        user, "courses.teach_run", answer.attempt.run
    )


def connect() -> None:
    """Connect the receivers (called from AssessmentsConfig.ready())."""
    from lms import media

    media.register("assessments/", answer_file)
    from assessments.models import Assessment, AssessmentSection, Question
    from courses.content import register_lesson_url
    from courses.models import Lesson

    post_save.connect(_question_changed, sender=Question, dispatch_uid="assessments_q_saved")
    post_delete.connect(_question_changed, sender=Question, dispatch_uid="assessments_q_deleted")
    post_save.connect(_section_saved, sender=AssessmentSection, dispatch_uid="assessments_section")
    post_save.connect(_assessment_changed, sender=Assessment, dispatch_uid="assessments_link")
    post_delete.connect(_assessment_changed, sender=Assessment, dispatch_uid="assessments_unlink")
    post_save.connect(_lesson_saved, sender=Lesson, dispatch_uid="assessments_lesson_saved")
    register_lesson_url("assessment", _lesson_url)
