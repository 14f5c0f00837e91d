"""Permission rules of the courses app, registered with lms.accounts.permissions.

- courses.teach_run (obj=CourseRun): an instructor assigned to the run, the run's supervising
  expert, a coordinator of the host institution, DPS.
- courses.view_run (obj=CourseRun): those who teach it, and learners enrolled in it.
- courses.manage_run (obj=CourseRun): a coordinator of the host institution, DPS; and, for a
  replicated run, its replicating trainer (leads_replication): they plan its sessions, enrol
  the officers of its host institution and decide their requests, in that run only.
- courses.coordinate_run (obj=CourseRun): a coordinator of the host institution, DPS: they
  assign instructors and may record observations beside the supervising expert (not a trainer,
  who would be observing their own teaching).
- courses.enrol_officers (obj=Institution, or None for "some institution"): a coordinator of the
  institution (or a unit above it), DPS.
- courses.author_course (obj=Course): a coordinator of the owner institution, DPS.
- courses.replicate_course (obj=Course): a trainer qualified for the course (by a
  train-the-trainers run) who belongs to an institution, where the replicated run will be held.
- courses.supervise_run (obj=CourseRun): the run's supervising expert.

A lesson's files (video, captions, document; lms.media) are read by the learners enrolled in
its version (active or completed), those who author the course, and those who teach one of its
runs.
"""

from __future__ import annotations

from typing import Any

from lms.accounts.permissions import get_scope, register_rule


def _teaches(user: Any, run: Any) -> bool:
    if run is None:
        return False
    scope = get_scope(user)
    if scope.is_dps or run.supervisor_id == user.pk:
        return True
    if run.host_institution_id is not None and scope.coordinates(run.host_institution_id):
        return True
    from courses.models import RunInstructor

    return RunInstructor.objects.filter(run_id=run.pk, user_id=user.pk).exists()


def _views(user: Any, run: Any) -> bool:
    if run is None:
        return False
    from courses.models import Enrollment

    if Enrollment.objects.filter(run_id=run.pk, user_id=user.pk).exists():
        return True
    return _teaches(user, run)


def _coordinates_run(user: Any, run: Any) -> bool:
    if run is None:
        return False
    scope = get_scope(user)
    return scope.is_dps or (
        run.host_institution_id is not None and scope.coordinates(run.host_institution_id)
    )


def leads_replication(user: Any, run: Any) -> bool:
    """Whether `user` is the replicating trainer of `run`, a replicated run (held at the
    trainer's institution: create_replicated_run)."""
    if run is None or run.replicated_from_id is None or run.host_institution_id is None:
        return False
    from courses.models import RunInstructor

    return RunInstructor.objects.filter(
        run_id=run.pk, user_id=user.pk, role=RunInstructor.Role.TRAINER
    ).exists()


def _manages(user: Any, run: Any) -> bool:
    return _coordinates_run(user, run) or leads_replication(user, run)


def _enrols_officers(user: Any, institution: Any) -> bool:
    scope = get_scope(user)
    if institution is None:
        return scope.is_dps or bool(scope.coordinated_paths)
    return scope.coordinates(institution)


def _authors(user: Any, course: Any) -> bool:
    scope = get_scope(user)
    if scope.is_dps:
        return True
    return (
        course is not None
        and course.owner_institution_id is not None
        and scope.coordinates(course.owner_institution_id)
    )


def _replicates(user: Any, course: Any) -> bool:
    if course is None or getattr(user, "institution_id", None) is None:
        return False
    from courses.models import TrainerQualification

    return TrainerQualification.objects.filter(user_id=user.pk, course_id=course.pk).exists()


def _supervises(user: Any, run: Any) -> bool:
    return run is not None and run.supervisor_id is not None and run.supervisor_id == user.pk


def lesson_file(user: Any, name: str) -> bool:
    """Whether `user` may read the lesson file stored as `name` (lms.media)."""
    if not user.is_authenticated:
        return False
    from django.db.models import Q

    from courses.models import CourseRun, Enrollment, Lesson

    lesson = (
        Lesson.objects.filter(Q(video_file=name) | Q(captions=name) | Q(document=name))
        .select_related("version__course")
        .first()
    )
    if lesson is None:
        return False
    course = lesson.version.course
    if Enrollment.objects.filter(
        user_id=user.pk,
        version_id=lesson.version_id,
        status__in=(Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED),
    ).exists():
        return True
    if _authors(user, course):
        return True
    # teaching one of the course's runs (_teaches, for all the runs in a few queries)
    from courses.models import RunInstructor

    runs = CourseRun.objects.filter(course_id=course.pk)
    if (
        RunInstructor.objects.filter(run__course_id=course.pk, user_id=user.pk).exists()
        or runs.filter(supervisor_id=user.pk).exists()
    ):
        return True
    scope = get_scope(user)
    if not scope.coordinated_paths:
        return False
    from lms.accounts.models import Institution

    hosts = Institution.objects.filter(
        pk__in=runs.exclude(host_institution=None).values("host_institution_id")
    ).values_list("path", flat=True)
    return any(path.startswith(prefix) for path in hosts for prefix in scope.coordinated_paths)


def register() -> None:
    """Register the rules (called from CoursesConfig.ready())."""
    from lms import media

    media.register("lessons/", lesson_file)
    register_rule("courses.teach_run", _teaches)
    register_rule("courses.view_run", _views)
    register_rule("courses.manage_run", _manages)
    register_rule("courses.coordinate_run", _coordinates_run)
    register_rule("courses.enrol_officers", _enrols_officers)
    register_rule("courses.author_course", _authors)
    register_rule("courses.replicate_course", _replicates)
    register_rule("courses.supervise_run", _supervises)
