"""Writes of the courses app: enrolment, progress, completion, attendance, versions, trainers.

Each public function is one transaction. Rows whose counters change are locked with
SELECT … FOR UPDATE (the run for seats, the enrolment for progress) so that two requests never
give the same seat twice or complete a course twice. Every learning step is recorded as an xAPI
statement in the same transaction, with a statement id derived from a stable event key so that
repeating a step stores nothing new; signals go out after the commit (except
lesson_completed_in_transaction, see courses.signals).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.http import Http404
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from courses import first_views, player_state, selectors, signals
from courses.models import (
    AttendanceRecord,
    Course,
    CourseRun,
    CourseVersion,
    Enrollment,
    EnrollmentEvent,
    EnrolmentJob,
    Lesson,
    LessonProgress,
    Module,
    ProgramCourse,
    RunInstructor,
    Session,
    SupervisionObservation,
    TrainerQualification,
)
from courses.permissions import leads_replication
from lms.accounts.permissions import get_scope, has_perm
from lms.db import bound_cursor, bulk_update

# Namespace of the deterministic xAPI statement ids this app emits.
STATEMENT_NAMESPACE = uuid.UUID("6f0d3c2e-4c52-5d7e-9b0a-1d4e6a2c9f11")

# Statuses that hold a seat in a run (CourseRun.active_count counts them).
SEAT_HOLDING = (Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED)
# An enrolment in these states is opened again by enrolling (the same row, a new event).
REOPENABLE = (Enrollment.Status.WITHDRAWN, Enrollment.Status.REJECTED)
# Rows a statement of a bulk path writes at most (bulk_create, bulk_update).
BULK_BATCH = 1000


class EnrolmentError(ValidationError):
    """An enrolment that the rules refuse; the message is in the reader's language."""


def statement_id(*parts: object) -> uuid.UUID:
    """The deterministic id of the statement for one event (the same event, the same id)."""
    return uuid.uuid5(STATEMENT_NAMESPACE, ":".join(str(part) for part in parts))


def course_activity_id(course: Course) -> str:
    """The xAPI activity id of a course."""
    return _course_activity_id(course.code)


def _course_activity_id(code: str) -> str:
    from lms.xapi.emit import activity_iri

    return activity_iri("course", code)


def lesson_activity_id(lesson: Lesson) -> str:
    """The xAPI activity id of a lesson: its own for external content, else derived from its key."""
    if lesson.activity_id:
        return lesson.activity_id
    from lms.xapi.emit import activity_iri

    return activity_iri("lesson", lesson.key)


def _emit(
    *,
    actor: Any,
    verb: str,
    activity_id: str,
    activity_name: dict[str, str] | None,
    activity_type: str,
    registration: uuid.UUID | None,
    key: uuid.UUID,
    result: dict[str, Any] | None = None,
    parent_activity_id: str | None = None,
) -> None:
    from lms.xapi.emit import emit

    emit(
        actor=actor,
        verb=verb,
        activity_id=activity_id,
        activity_name=activity_name or None,
        activity_type=activity_type,
        registration=registration,
        result=result,
        parent_activity_id=parent_activity_id,
        statement_id=key,
    )


def _lesson_event(
    enrollment: Enrollment, lesson: Lesson, verb: str, result: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The arguments of a statement about a lesson of the enrolment (see _emit_many)."""
    return _lesson_statement(
        enrollment.registration, enrollment.run.course.code, lesson, verb, result
    )


def _lesson_statement(
    registration: uuid.UUID,
    course_code: str,
    lesson: Lesson,
    verb: str,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """_lesson_event for a registration in the course with this code."""
    return {
        "verb": verb,
        "activity_id": lesson_activity_id(lesson),
        "activity_name": lesson.title or None,
        "activity_type": LESSON_TYPE,
        "registration": registration,
        "statement_id": statement_id(verb, registration, lesson.key),
        "result": result,
        "parent_activity_id": _course_activity_id(course_code),
    }


def _emit_many(actor: Any, events: list[dict[str, Any]]) -> None:
    """Store several statements about one learner in one INSERT (the player's first view of a
    text records "experienced" and "completed")."""
    from lms.xapi.emit import emit_many

    emit_many((actor, event) for event in events)


def _lesson_completed(enrollment: Enrollment, lesson: Lesson) -> None:
    """lesson_completed_in_transaction now (its receivers write in this transaction: the
    dashboards' activity dates), lesson_completed after the commit. Called once the enrolment
    holds its new last_activity_at."""
    signals.lesson_completed_in_transaction.send(
        sender=Lesson, enrollment=enrollment, lesson=lesson
    )
    transaction.on_commit(
        lambda: signals.lesson_completed.send(sender=Lesson, enrollment=enrollment, lesson=lesson)
    )


def _lessons_completed(completions: list[tuple[Enrollment, Lesson]]) -> None:
    """_lesson_completed for many: lessons_completed_in_transaction once for all now,
    lesson_completed for each after the commit (one alone goes through _lesson_completed)."""
    if len(completions) == 1:
        _lesson_completed(*completions[0])
        return
    if not completions:
        return
    signals.lessons_completed_in_transaction.send(sender=Lesson, completions=completions)

    def announce() -> None:
        for enrollment, lesson in completions:
            signals.lesson_completed.send(sender=Lesson, enrollment=enrollment, lesson=lesson)

    transaction.on_commit(announce)


def _event(enrollment: Enrollment, from_status: str, actor: Any, note: str = "") -> EnrollmentEvent:
    """The event (not saved) of the enrolment's move from `from_status` to its status now."""
    return EnrollmentEvent(
        enrollment=enrollment,
        from_status=from_status,
        to_status=enrollment.status,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note[:300],
    )


def _record_event(
    enrollment: Enrollment, from_status: str, actor: Any, note: str = ""
) -> EnrollmentEvent:
    event = _event(enrollment, from_status, actor, note)
    event.save()
    to_status = enrollment.status
    transaction.on_commit(
        lambda: signals.enrollment_changed.send(
            sender=Enrollment, enrollment=enrollment, from_status=from_status, to_status=to_status
        )
    )
    return event


def _lock_run(run_id: int) -> CourseRun:
    return CourseRun.objects.select_for_update().select_related("course").get(pk=run_id)


def _take_seat_or_queue(run: CourseRun, enrollment: Enrollment) -> None:
    """Give the enrolment a seat, or the next place on the waiting list (run is locked)."""
    _Seats(run).place(enrollment)


class _Seats:
    """The seats of a locked run, given in turn: a seat while any is left, else the next place
    on the waiting list (the list's end read once, when the first one must wait)."""

    def __init__(self, run: CourseRun) -> None:
        self.run = run
        self.last_place: int | None = None

    def place(self, enrollment: Enrollment) -> None:
        run = self.run
        if run.capacity is None or run.active_count < run.capacity:
            enrollment.status = Enrollment.Status.ACTIVE
            enrollment.waitlist_position = None
            run.active_count += 1
            return
        if self.last_place is None:
            self.last_place = run.enrollments.aggregate(last=Max("waitlist_position"))["last"] or 0
        self.last_place += 1
        enrollment.status = Enrollment.Status.WAITLISTED
        enrollment.waitlist_position = self.last_place
        run.waitlist_count += 1


def _check_open(run: CourseRun) -> None:
    now = timezone.now()
    if run.status != CourseRun.Status.OPEN:
        raise EnrolmentError(_("This course run is not open for enrolment."), code="closed")
    if run.enrolment_opens and now < run.enrolment_opens:
        raise EnrolmentError(_("Enrolment in this course run has not opened yet."), code="early")
    if run.enrolment_closes and now > run.enrolment_closes:
        raise EnrolmentError(_("Enrolment in this course run has closed."), code="late")


def _check_program_order(user: Any, run: CourseRun) -> None:
    """In a program taken in order, the courses before this one must be completed first."""
    missing = _missing_earlier_courses([user], run)
    if missing:
        raise EnrolmentError(
            _("Complete the course “%(course)s” first: the program is taken in order.")
            % {"course": missing[0][1].course.localized_title()},
            code="program_order",
        )


def _missing_earlier_courses(users: list[Any], run: CourseRun) -> list[tuple[Any, ProgramCourse]]:
    """(officer, program step) for each of `users` who has not completed a course that a program
    taken in order puts before this run's, the officers in the order given, their steps in the
    program's order; two queries whatever their number (none when no program orders it)."""
    earlier = list(
        ProgramCourse.objects.filter(
            program__ordered=True,
            program__program_courses__course_id=run.course_id,
            position__lt=F("program__program_courses__position"),
            required=True,
        )
        .exclude(course_id=run.course_id)
        .select_related("course")
        .order_by("position")
    )
    if not earlier:
        return []
    done = set(
        Enrollment.objects.filter(
            user_id__in=[user.pk for user in users],
            status=Enrollment.Status.COMPLETED,
            run__course_id__in={step.course_id for step in earlier},
        ).values_list("user_id", "run__course_id")
    )
    return [
        (user, step) for user in users for step in earlier if (user.pk, step.course_id) not in done
    ]


def enrol(*, user: Any, run: CourseRun, actor: Any, note: str = "") -> Enrollment:
    """Enrol `user` in `run`, acting as `actor` (the learner themself, a coordinator, or the
    trainer who leads a replicated run, for officers of its host institution).

    Self-enrolment needs an open run that allows it; runs that need approval (on-site) put a
    learner's own request on hold until whoever manages the run approves it. Their enrolment is
    approved at once. With no seat left the enrolment joins the waiting list. Enrolling again
    returns the existing enrolment unchanged (withdrawn or rejected ones are reopened). Whoever
    teaches the run (its lead, assistants and replicating trainers) is never enrolled in it as
    a learner.
    """
    by_self = actor.pk == user.pk
    check_may_enrol(user=user, run=run, actor=actor)
    with transaction.atomic():
        run = _lock_run(run.pk)
        teachers = _teachers_among(run, [user])
        if teachers:
            raise _teacher_refused(*teachers[0], by_self=by_self)
        if not has_perm(actor, "courses.manage_run", run) or by_self:
            _check_open(run)
            if by_self and not run.self_enrolment:
                raise EnrolmentError(
                    _("Officers cannot enrol themselves in this run; ask your coordinator."),
                    code="no_self_enrolment",
                )
        _check_program_order(user, run)
        enrollment = Enrollment.objects.filter(user_id=user.pk, run_id=run.pk).first()
        reopening = enrollment is not None
        if enrollment is not None and enrollment.status not in REOPENABLE:
            return enrollment
        from_status = enrollment.status if enrollment is not None else ""
        if enrollment is None:
            enrollment = _new_enrollment(
                user, run, user.institution if user.institution_id else None
            )
        enrollment.enrolled_by = actor
        enrollment.enrolled_at = timezone.now()
        if run.requires_approval and by_self:
            enrollment.status = Enrollment.Status.PENDING
        else:
            _take_seat_or_queue(run, enrollment)
        enrollment.save()
        run.save(update_fields=["active_count", "waitlist_count"])
        CourseVersion.objects.filter(pk=run.version_id, is_frozen=False).update(is_frozen=True)
        event = _record_event(enrollment, from_status, actor, note)
        _emit(
            actor=user,
            verb="registered",
            activity_id=course_activity_id(run.course),
            activity_name=run.course.title,
            activity_type="http://adlnet.gov/expapi/activities/course",
            registration=enrollment.registration,
            key=statement_id("registered", enrollment.registration, event.pk if reopening else 0),
        )
    return enrollment


class RunNotManaged(PermissionDenied):
    """Enrolling someone else in a run one does not manage (its enrol-officers page's rule)."""


def check_may_enrol(*, user: Any, run: CourseRun, actor: Any) -> None:
    """Whether `actor` may enrol `user` in `run` at all, before the run's own rules (open,
    self-enrolment, approval, seats), which enrol applies under the run's lock. enrol calls it
    first, so the page and the API refuse alike; the API calls it before it looks further.

    - A run of an unpublished course is not there (Http404, as the course's page) for whoever
      may neither author the course nor manage the run.
    - Enrolling someone else needs courses.manage_run on the run, as the enrol-officers page
      (RunNotManaged), and the right to enrol officers of the person's institution; an officer
      with no institution is enrolled by DPS only (the rule with no object would answer for
      "some institution").
    """
    course = run.course
    if not course.is_published and not (
        has_perm(actor, "courses.author_course", course)
        or has_perm(actor, "courses.manage_run", run)
    ):
        raise Http404  # the API answers its translated "Not found." (lms.rest)
    if actor.pk == user.pk:
        return
    if not has_perm(actor, "courses.manage_run", run):
        raise RunNotManaged(_("You may enrol officers only in the runs you manage."))
    if (user.institution_id is None and not get_scope(actor).is_dps) or not (
        _may_enrol_officers_of(actor, run, user.institution)
    ):
        raise PermissionDenied(_("You may enrol only officers of your institution."))


def _may_enrol_officers_of(actor: Any, run: CourseRun, institution: Any) -> bool:
    """Whether `actor` may enrol officers of `institution` in `run`: as its coordinator (or
    DPS), or as the trainer who leads the replicated run, for officers of the run's host
    institution and its units."""
    if has_perm(actor, "courses.enrol_officers", institution):
        return True
    host = run.host_institution if run.host_institution_id is not None else None
    return (
        institution is not None
        and host is not None
        and institution.path.startswith(host.path)
        and leads_replication(actor, run)
    )


def _teachers_among(run: CourseRun, users: list[Any]) -> list[tuple[Any, str]]:
    """Those of `users` who teach `run` (lead, assistant or replicating trainer), each with
    their role (one query)."""
    roles = dict(
        RunInstructor.objects.filter(run_id=run.pk, user_id__in=[u.pk for u in users]).values_list(
            "user_id", "role"
        )
    )
    return [(user, roles[user.pk]) for user in users if user.pk in roles]


def _teacher_refused(user: Any, role: str, *, by_self: bool = False) -> EnrolmentError:
    """The refusal to enrol who teaches the run as one of its learners."""
    name = {"name": user.full_name or user.email}
    if role == RunInstructor.Role.TRAINER:
        message = (
            _("You teach this run as its trainer: you cannot enrol in it as a learner.")
            if by_self
            else _(
                "%(name)s teaches this run as its trainer and cannot be enrolled in it as a "
                "learner."
            )
            % name
        )
        return EnrolmentError(message, code="trainer")
    message = (
        _("You teach this run: you cannot enrol in it as a learner.")
        if by_self
        else _("%(name)s teaches this run and cannot be enrolled in it as a learner.") % name
    )
    return EnrolmentError(message, code="teaching")


def officers_to_enrol_in(*, run: CourseRun, user: Any, query: str = "") -> QuerySet[Any]:
    """The officers `user` may enrol in `run` (its enrol-officers page and background job):
    those of the institutions they coordinate; for the trainer who leads a replicated run (and
    coordinates none of it), those of its host institution and its units. Whoever teaches the
    run (its lead, assistants and replicating trainers) is left out."""
    host = run.host_institution if run.host_institution_id is not None else None
    if host is not None and not get_scope(user).coordinates(host) and leads_replication(user, run):
        from lms.accounts.models import User

        officers = User.objects.filter(
            status=User.Status.ACTIVE, institution__path__startswith=host.path
        )
        if query:
            officers = officers.filter(Q(full_name__icontains=query) | Q(email__icontains=query))
        officers = officers.select_related("institution").order_by("full_name", "pk")
    else:
        officers = selectors.officers_to_enrol(user=user, query=query)
    teachers = RunInstructor.objects.filter(run_id=run.pk)
    return officers.exclude(pk__in=teachers.values("user_id"))


def _new_enrollment(user: Any, run: CourseRun, institution: Any) -> Enrollment:
    """A first enrolment of `user` in `run` (not saved), counted in the officer's member state,
    else their institution's."""
    return Enrollment(
        user=user,
        run=run,
        version_id=run.version_id,
        institution_id=user.institution_id,
        member_state_id=user.member_state_id
        or (institution.member_state_id if institution is not None else None),
    )


@dataclass
class BulkEnrolment:
    """What a bulk enrolment did."""

    enrolled: list[Enrollment] = field(default_factory=list)
    waitlisted: list[Enrollment] = field(default_factory=list)
    already: int = 0


def enrol_many(*, users: Iterable[Any], run: CourseRun, actor: Any) -> BulkEnrolment:
    """Enrol many officers at once (a coordinator's bulk enrolment), all or nothing.

    The rules of enrol, checked for all at once (each institution's permission once, the
    program's order in one query), and the writes in a fixed number of statements whatever the
    number of officers: the enrolments, their events and their `registered` statements, the
    run's counts once; the dashboards hear of them in one signal (enrollments_changed). Listed
    twice counts once; the coordinator themself, if listed, is enrolled as enrol does it.
    """
    outcome = BulkEnrolment()
    officers = {user.pk: user for user in users}
    own = officers.pop(getattr(actor, "pk", None), None)
    with transaction.atomic():
        if officers:
            _enrol_officers(list(officers.values()), run, actor, outcome)
        if own is not None:
            if Enrollment.objects.filter(
                user_id=own.pk, run_id=run.pk, status__in=[*SEAT_HOLDING, "waitlisted", "pending"]
            ).exists():
                outcome.already += 1
            else:
                enrollment = enrol(user=own, run=run, actor=actor, note="bulk")
                waiting = enrollment.status == Enrollment.Status.WAITLISTED
                (outcome.waitlisted if waiting else outcome.enrolled).append(enrollment)
    return outcome


def enrol_in_background_from() -> int:
    """From how many officers a coordinator's "everyone matching" is a background job rather
    than one request (settings.LMS_ENROL_IN_BACKGROUND_FROM; at once, a thousand officers take
    about half a second here)."""
    return int(settings.LMS_ENROL_IN_BACKGROUND_FROM)


def start_enrolment_job(*, run: CourseRun, actor: Any, query: str) -> EnrolmentJob:
    """Queue the enrolment of every officer the coordinator may enrol who matches `query`, once
    committed; the worker runs run_enrolment_job."""
    if not has_perm(actor, "courses.manage_run", run):
        raise PermissionDenied(_("You may not enrol officers in this run."))
    with transaction.atomic():
        job = EnrolmentJob.objects.create(run=run, requested_by=actor, query=query[:100])
        job_id = job.pk
        transaction.on_commit(lambda: _queue_enrolment_job(job_id))
    return job


def _queue_enrolment_job(job_id: uuid.UUID) -> None:
    from courses.tasks import enrolment_job_task

    enrolment_job_task.delay(str(job_id))


def run_enrolment_job(*, job_id: uuid.UUID | str, batch_size: int = BULK_BATCH) -> EnrolmentJob:
    """Enrol the job's officers in batches (enrol_many each, in its own transaction with the
    job's counters), in the requester's language for what it says. A refusal (the program's
    order, a permission taken back meanwhile) ends the job failed with the reason, after the
    batches already done; running it again carries on (those enrolled count as already). Any
    other error marks it failed and is raised again, for the task to retry."""
    job = EnrolmentJob.objects.select_related("run", "requested_by").get(pk=job_id)
    jobs = EnrolmentJob.objects.filter(pk=job.pk)
    actor = job.requested_by
    if actor is None:
        jobs.update(
            state=EnrolmentJob.State.FAILED,
            error=_("The account that asked for this enrolment no longer exists."),
        )
        return EnrolmentJob.objects.get(pk=job.pk)
    officers = officers_to_enrol_in(run=job.run, user=actor, query=job.query).order_by("pk")
    jobs.update(
        state=EnrolmentJob.State.RUNNING, total=officers.count(),
        enrolled=0, waitlisted=0, already=0, error="",
    )  # fmt: skip
    last = 0
    with translation.override(actor.preferred_language or settings.LANGUAGE_CODE):
        try:
            while batch := list(officers.filter(pk__gt=last)[:batch_size]):
                with transaction.atomic():
                    outcome = enrol_many(users=batch, run=job.run, actor=actor)
                    jobs.update(
                        enrolled=F("enrolled") + len(outcome.enrolled),
                        waitlisted=F("waitlisted") + len(outcome.waitlisted),
                        already=F("already") + outcome.already,
                    )
                last = batch[-1].pk
        except (ValidationError, PermissionDenied) as refused:
            reason = " ".join(getattr(refused, "messages", None) or [str(refused)])
            jobs.update(state=EnrolmentJob.State.FAILED, error=reason[:500])
            return EnrolmentJob.objects.get(pk=job.pk)
        except Exception as error:
            jobs.update(state=EnrolmentJob.State.FAILED, error=str(error)[:500])
            raise
    jobs.update(state=EnrolmentJob.State.DONE)
    return EnrolmentJob.objects.get(pk=job.pk)


def _enrol_officers(users: list[Any], run: CourseRun, actor: Any, outcome: BulkEnrolment) -> None:
    """enrol_many's officers other than the actor, in its transaction."""
    institutions = _check_may_enrol(actor, users, run)
    run = _lock_run(run.pk)
    teachers = _teachers_among(run, users)
    if teachers:
        raise _teacher_refused(*teachers[0])
    if not has_perm(actor, "courses.manage_run", run):
        _check_open(run)
    _check_program_order_of_many(users, run)
    existing = {
        enrollment.user_id: enrollment
        for enrollment in Enrollment.objects.filter(
            run_id=run.pk, user_id__in=[user.pk for user in users]
        )
    }
    now = timezone.now()
    seats = _Seats(run)
    new: list[Enrollment] = []
    reopened: list[Enrollment] = []
    changes: list[tuple[Enrollment, str]] = []
    for user in users:
        enrollment = existing.get(user.pk)
        if enrollment is not None and enrollment.status not in REOPENABLE:
            outcome.already += 1
            continue
        from_status = enrollment.status if enrollment is not None else ""
        if enrollment is None:
            enrollment = _new_enrollment(user, run, institutions.get(user.institution_id))
            new.append(enrollment)
        else:
            enrollment.user = user
            reopened.append(enrollment)
        enrollment.enrolled_by = actor
        enrollment.enrolled_at = now
        seats.place(enrollment)
        changes.append((enrollment, from_status))
        waiting = enrollment.status == Enrollment.Status.WAITLISTED
        (outcome.waitlisted if waiting else outcome.enrolled).append(enrollment)
    if not changes:
        return
    Enrollment.objects.bulk_create(new, batch_size=BULK_BATCH)
    bulk_update(
        reopened,
        ["status", "waitlist_position", "enrolled_by", "enrolled_at"],
        batch_size=BULK_BATCH,
    )
    run.save(update_fields=["active_count", "waitlist_count"])
    CourseVersion.objects.filter(pk=run.version_id, is_frozen=False).update(is_frozen=True)
    events = EnrollmentEvent.objects.bulk_create(
        [_event(enrollment, from_status, actor, "bulk") for enrollment, from_status in changes],
        batch_size=BULK_BATCH,
    )
    _emit_registered(
        run,
        [
            (enrollment, event.pk if from_status else 0)
            for (enrollment, from_status), event in zip(changes, events, strict=True)
        ],
    )
    moved = [(enrollment, from_status, enrollment.status) for enrollment, from_status in changes]
    transaction.on_commit(
        lambda: signals.enrollments_changed.send(sender=Enrollment, changes=moved)
    )


def _check_may_enrol(actor: Any, users: list[Any], run: CourseRun) -> dict[int, Any]:
    """enrol's permission for many officers: each institution asked once (the institutions,
    read in one query, are returned by id); an officer with no institution, by DPS only."""
    from lms.accounts.models import Institution

    ids = {user.institution_id for user in users if user.institution_id is not None}
    institutions = Institution.objects.in_bulk(ids)
    refused = _("You may enrol only officers of your institution.")
    if any(user.institution_id is None for user in users) and not get_scope(actor).is_dps:
        raise PermissionDenied(refused)
    for institution in institutions.values():
        if not _may_enrol_officers_of(actor, run, institution):
            raise PermissionDenied(refused)
    return institutions


def _check_program_order_of_many(users: list[Any], run: CourseRun) -> None:
    """_check_program_order for many officers in two queries: the first officer listed who has
    not completed a course the program puts before this one is named in the refusal."""
    missing = _missing_earlier_courses(users, run)
    if missing:
        user, step = missing[0]
        raise EnrolmentError(
            _(
                "%(name)s must complete the course “%(course)s” first: the program is "
                "taken in order."
            )
            % {"name": user.full_name or user.email, "course": step.course.localized_title()},
            code="program_order",
        )


def _emit_registered(run: CourseRun, registered: list[tuple[Enrollment, int]]) -> None:
    """The `registered` statements of enrolments made or reopened, in one round trip; the
    number is the reopening's event (0 for a first enrolment), as enrol keys them."""
    from lms.xapi.emit import emit_many

    activity = course_activity_id(run.course)
    emit_many(
        (
            enrollment.user,
            {
                "verb": "registered",
                "activity_id": activity,
                "activity_name": run.course.title or None,
                "activity_type": "http://adlnet.gov/expapi/activities/course",
                "registration": enrollment.registration,
                "statement_id": statement_id("registered", enrollment.registration, number),
            },
        )
        for enrollment, number in registered
    )


def approve_enrolment(*, enrollment: Enrollment, actor: Any) -> Enrollment:
    """Approve a pending request: a seat, or the waiting list when the run is full. Not of
    someone who teaches the run meanwhile (they may be rejected)."""
    with transaction.atomic():
        run = _lock_run(enrollment.run_id)
        if not has_perm(actor, "courses.manage_run", run):
            raise PermissionDenied(_("You may not approve enrolments in this run."))
        enrollment = (
            Enrollment.objects.select_for_update().select_related("user").get(pk=enrollment.pk)
        )
        if enrollment.status != Enrollment.Status.PENDING:
            return enrollment
        teachers = _teachers_among(run, [enrollment.user])
        if teachers:
            raise _teacher_refused(*teachers[0])
        _take_seat_or_queue(run, enrollment)
        enrollment.save(update_fields=["status", "waitlist_position"])
        run.save(update_fields=["active_count", "waitlist_count"])
        _record_event(enrollment, Enrollment.Status.PENDING, actor, "approved")
    return enrollment


def reject_enrolment(*, enrollment: Enrollment, actor: Any, reason: str = "") -> Enrollment:
    """Refuse a pending request."""
    with transaction.atomic():
        run = _lock_run(enrollment.run_id)
        if not has_perm(actor, "courses.manage_run", run):
            raise PermissionDenied(_("You may not approve enrolments in this run."))
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if enrollment.status != Enrollment.Status.PENDING:
            return enrollment
        enrollment.status = Enrollment.Status.REJECTED
        enrollment.save(update_fields=["status"])
        _record_event(enrollment, Enrollment.Status.PENDING, actor, reason or "rejected")
    return enrollment


def withdraw(*, enrollment: Enrollment, actor: Any, reason: str = "") -> Enrollment:
    """Withdraw from a run; a freed seat goes to the first person on the waiting list."""
    with transaction.atomic():
        run = _lock_run(enrollment.run_id)
        if actor.pk != enrollment.user_id and not has_perm(actor, "courses.manage_run", run):
            raise PermissionDenied(_("You may not withdraw this enrolment."))
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        previous = enrollment.status
        if previous in (
            Enrollment.Status.WITHDRAWN,
            Enrollment.Status.REJECTED,
            Enrollment.Status.COMPLETED,
        ):
            return enrollment
        enrollment.status = Enrollment.Status.WITHDRAWN
        enrollment.waitlist_position = None
        enrollment.save(update_fields=["status", "waitlist_position"])
        _record_event(enrollment, previous, actor, reason)
        if previous == Enrollment.Status.WAITLISTED:
            run.waitlist_count = max(run.waitlist_count - 1, 0)
        elif previous == Enrollment.Status.ACTIVE:
            run.active_count = max(run.active_count - 1, 0)
            _promote_waitlist(run, actor)
        run.save(update_fields=["active_count", "waitlist_count"])
    return enrollment


def _promote_waitlist(run: CourseRun, actor: Any) -> None:
    while run.capacity is None or run.active_count < run.capacity:
        nxt = (
            Enrollment.objects.select_for_update()
            .filter(run_id=run.pk, status=Enrollment.Status.WAITLISTED)
            .order_by("waitlist_position", "pk")
            .first()
        )
        if nxt is None:
            return
        nxt.status = Enrollment.Status.ACTIVE
        nxt.waitlist_position = None
        nxt.save(update_fields=["status", "waitlist_position"])
        run.active_count += 1
        run.waitlist_count = max(run.waitlist_count - 1, 0)
        _record_event(nxt, Enrollment.Status.WAITLISTED, actor, "promoted from the waiting list")


# Progress and completion ----------------------------------------------------------------------


# A revisit rewrites the resume point only when it moved or this long after the last write.
TOUCH_SECONDS = 300
# A video counts as watched once the learner reached this share of its length.
WATCHED_FRACTION = 0.9
LESSON_TYPE = "http://adlnet.gov/expapi/activities/lesson"


@dataclass
class LessonVisit:
    """What the lesson player shows after a visit was recorded."""

    enrollment: Enrollment
    lesson: Lesson
    outline: selectors.Outline
    progress: LessonProgress
    progress_map: dict[int, LessonProgress]


def visit_lesson(*, registration: Any, user: Any, lesson_id: int) -> LessonVisit:
    """The learner opens a lesson in the player: remember it for resuming; text and documents
    count as completed when viewed, other kinds record that they were launched.

    The learner's enrolment row is locked first, so that the progress read after it is current
    and two tabs never count the same step twice; the outline and the lesson come from the
    cache. A first view costs one INSERT of the progress, one UPDATE of the enrolment and one of
    the statements; a revisit only reads. Raises Enrollment.DoesNotExist (not the person's
    enrolment), Lesson.DoesNotExist (not in their version) or PermissionDenied (not active).
    """
    now = timezone.now()
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("run__course", "version")
            .defer("run__course__description", "run__course__learning_outcomes")
            .get(registration=registration, user_id=user.pk)
        )
        if enrollment.status not in SEAT_HOLDING:
            raise PermissionDenied(_("Your enrolment is not active."))
        enrollment.user = user
        outline = selectors.lesson_outline(version_id=enrollment.version_id)
        lesson = selectors.player_lesson(lesson_id=lesson_id, version_id=enrollment.version_id)
        if lesson is None:
            raise Lesson.DoesNotExist
        progress_map = selectors.lesson_progress_map(enrollment=enrollment)
        progress = progress_map.get(lesson.pk)
        changed: dict[str, Any] = {}
        if (
            enrollment.last_lesson_id != lesson.pk
            or enrollment.last_activity_at is None
            or (now - enrollment.last_activity_at).total_seconds() > TOUCH_SECONDS
        ):
            changed = {"last_lesson_id": lesson.pk, "last_activity_at": now}
        completes = False
        if progress is None:
            completes = lesson.kind in (Lesson.Kind.TEXT, Lesson.Kind.DOCUMENT)
            progress = LessonProgress.objects.create(
                enrollment=enrollment,
                lesson=lesson,
                status=LessonProgress.Status.COMPLETED if completes else "started",
                started_at=now,
                completed_at=now if completes else None,
            )
            progress_map[lesson.pk] = progress
            verb = "experienced" if completes else "launched"
            events = [_lesson_event(enrollment, lesson, verb)]
            if completes:
                events.append(_lesson_event(enrollment, lesson, "completed", {"completion": True}))
                required = [item.pk for item in outline if item.is_required]
                done = sum(
                    1
                    for pk in required
                    if pk in progress_map
                    and progress_map[pk].status == LessonProgress.Status.COMPLETED
                )
                pct = 100 if not required else (100 * done) // len(required)
                # a completed enrolment keeps what it had (reviewing a course completed on
                # site, with fewer lessons recorded, must not bring it down)
                if enrollment.status == Enrollment.Status.COMPLETED:
                    pct = max(pct, enrollment.progress_pct or 0)
                changed["progress_pct"] = pct
            _emit_many(user, events)
        for name, value in changed.items():
            setattr(enrollment, name, value)
        if changed:
            Enrollment.objects.update_one(enrollment.pk, **changed)
        if completes:
            _lesson_completed(enrollment, lesson)
            _complete_if_met(enrollment, user)
    return LessonVisit(enrollment, lesson, outline, progress, progress_map)


@dataclass
class PlayerVisit:
    """What the lesson player shows: the learner's enrolment and progress, the lesson, the
    outline (see player_visit)."""

    enrollment: selectors.PlayerEnrollment
    lesson: Lesson
    outline: selectors.Outline


def player_visit(*, registration: Any, user: Any, lesson_id: int) -> PlayerVisit:
    """visit_lesson for the player page, cheap on a revisit: the learner's enrolment with its
    progress comes from the state kept beside the session (courses.player_state), else from
    one query, which the page then keeps; the outline and lesson from one cache round trip, or
    from the process's memory. Back to a lesson already opened, only a moved or stale resume
    point is written (one UPDATE). A first view on PostgreSQL is _first_view, which reuses what
    this read (no second read of the enrolment, its progress or the outline) and locks and
    writes in six round trips from BEGIN to COMMIT, the dashboards' activity included;
    elsewhere, or when the locked row shows that something changed meanwhile, it goes through
    visit_lesson. With first views written behind (courses.first_views) a first view is queued
    in Redis instead, unless it may complete the course. The player's own writes leave the state
    they know kept (a moved resume point, a first view), unless another write forgot it
    meanwhile.

    The same refusals as visit_lesson: Enrollment.DoesNotExist (not the person's enrolment),
    PermissionDenied (not active or completed), Lesson.DoesNotExist (not in their version).
    """
    state, kept = _player_state(registration, user)
    outline, lesson = selectors.player_content(version_id=state.version_id, lesson_id=lesson_id)
    if lesson is None:
        raise Lesson.DoesNotExist
    last = state.last_activity_at
    if lesson.pk in state.progress:
        # Back to a lesson already opened: nothing to count, only the resume point may move,
        # which one UPDATE does without the lock and the reads of visit_lesson.
        now = timezone.now()
        if (
            state.last_lesson_id != lesson.pk
            or last is None
            or (now - last).total_seconds() > TOUCH_SECONDS
        ):
            _move_resume_point(state.pk, lesson.pk, now)
            state.last_lesson_id, state.last_activity_at = lesson.pk, now
            player_state.replace(state)
        elif not kept:
            player_state.keep(state)
        return PlayerVisit(state, lesson, outline)
    if first_views.enabled():
        if first_views.queue(state, user, lesson, outline):
            return PlayerVisit(state, lesson, outline)
        # Written now (a view that may complete the course, or Redis failing): after the views
        # still queued, so that the completion rules read them all.
        first_views.drain_now()
    if connection.vendor == "postgresql" and _first_view(state, user, lesson, outline):
        player_state.replace(state)
        return PlayerVisit(state, lesson, outline)
    visit = visit_lesson(registration=registration, user=user, lesson_id=lesson_id)
    state.follow(visit.enrollment)
    state.progress = {
        pk: (progress.status, progress.position_seconds)
        for pk, progress in visit.progress_map.items()
    }
    return PlayerVisit(state, visit.lesson, visit.outline)


def _player_state(registration: Any, user: Any) -> tuple[selectors.PlayerEnrollment, bool]:
    """The learner's enrolment and progress as the player reads them, and whether they came
    from the kept state (courses.player_state) rather than the database. The refusals of
    player_visit."""
    state = player_state.read(registration, user.pk)
    kept = state is not None
    if state is None:
        state = selectors.player_enrollment(registration=registration, user_id=user.pk)
        if state is None:
            raise Enrollment.DoesNotExist
    if state.status not in SEAT_HOLDING:
        raise PermissionDenied(_("Your enrolment is not active."))
    return state, kept


def player_resume(*, registration: Any, user: Any) -> int | None:
    """The lesson to resume the learner's course at: the last one opened, else the first not
    completed, else the first; None when the version has no lessons. Reads what the lesson page
    reads (and keeps it for that page): the kept state, else one query, and the cached outline.
    The refusals of player_visit."""
    state, kept = _player_state(registration, user)
    if not kept:
        player_state.keep(state)
    outline = selectors.lesson_outline(version_id=state.version_id)
    if not outline:
        return None
    if any(item.pk == state.last_lesson_id for item in outline):
        return state.last_lesson_id
    completed = LessonProgress.Status.COMPLETED
    return next(
        (item.pk for item in outline if state.progress.get(item.pk, ("",))[0] != completed),
        outline[0].pk,
    )


_MOVE_SQL = (
    f"UPDATE {Enrollment._meta.db_table} SET last_lesson_id = %s, last_activity_at = %s "  # noqa: S608
    "WHERE id = %s"
)


def _move_resume_point(enrollment_id: int, lesson_id: int, now: Any) -> None:
    """The resume point of a learner back on a lesson already opened: one UPDATE, prepared on
    PostgreSQL (learners move between their lessons often; the ORM built this query for longer
    than the server ran it)."""
    if connection.vendor != "postgresql":
        Enrollment.objects.update_one(enrollment_id, last_lesson_id=lesson_id, last_activity_at=now)
        return
    with bound_cursor(prepare=True) as cursor:
        cursor.execute(_MOVE_SQL, [lesson_id, now, enrollment_id])


# The player's first view of a lesson on PostgreSQL (_first_view). One statement locks the
# enrolment row (the latest version of it, as FOR UPDATE returns) and inserts the progress,
# only while the enrolment still holds a seat in the version the player read; ON CONFLICT DO
# NOTHING, so that a lesson another tab counted first is not counted again (its INSERT
# committed before this statement had the lock; the unique key sees it). The progress count
# is taken by the next statement, whose snapshot, taken after the lock, sees every other
# transaction's progress of this enrolment. The same statement makes the transaction's commit
# asynchronous (synchronous_commit off, for this transaction only): a first view is not waited
# for on the disk. A database crash may lose the last fraction of a second of views (the learner
# opens the lesson again and it counts then); grades, attempts, enrolments and certificates
# commit as always.
_ENROLLMENT_FIELDS = [field.attname for field in Enrollment._meta.concrete_fields]
_FIRST_VIEW_SQL = f"""
WITH e AS MATERIALIZED (
    SELECT {", ".join(field.column for field in Enrollment._meta.concrete_fields)}
      FROM {Enrollment._meta.db_table} WHERE id = %s FOR UPDATE
), ins AS (
    INSERT INTO {LessonProgress._meta.db_table}
        (enrollment_id, lesson_id, status, passed, score_pct, position_seconds, started_at,
         completed_at)
    SELECT e.id, %s::bigint, %s::text, NULL, NULL, 0, %s::timestamptz, %s::timestamptz FROM e
     WHERE e.status IN (%s, %s) AND e.version_id = %s
    ON CONFLICT (enrollment_id, lesson_id) DO NOTHING
    RETURNING id
)
SELECT (SELECT id FROM ins), set_config('synchronous_commit', 'off', true), e.* FROM e
"""  # noqa: S608 - table and column names from the models, values as parameters
_PROGRESS_COUNTS = f"""
    (SELECT count(*) FROM {LessonProgress._meta.db_table} p WHERE p.enrollment_id = %s),
    (SELECT count(*) FROM {LessonProgress._meta.db_table} p
      WHERE p.enrollment_id = %s AND p.status = %s)"""  # noqa: S608
_DONE_PCT = f"""100 * (
    SELECT count(*) FROM {LessonProgress._meta.db_table} p
     WHERE p.enrollment_id = %s AND p.status = %s AND p.lesson_id = ANY(%s)) / %s"""  # noqa: S608


def _first_view(
    state: selectors.PlayerEnrollment,
    user: Any,
    lesson: Lesson,
    outline: selectors.Outline,
) -> bool:
    """What visit_lesson records for a first view of `lesson`, without reading again what the
    player read (the enrolment, its progress, the outline and lesson): BEGIN, the lock and the
    progress in one statement, the enrolment's UPDATE (progress % counted in it, after the
    lock), the statements (one round trip), the receivers of lesson_completed_in_transaction
    (the dashboards' activity, one statement) and COMMIT. `state` is brought up to date.

    False, with nothing written, when the locked row shows the view is not a first view any
    more (another tab counted the lesson), or the enrolment left its seat or its version: the
    caller goes through visit_lesson, which decides (and refuses) as always.
    """
    now = timezone.now()
    completes = lesson.kind in (Lesson.Kind.TEXT, Lesson.Kind.DOCUMENT)
    status = LessonProgress.Status.COMPLETED if completes else LessonProgress.Status.STARTED
    with transaction.atomic():
        with bound_cursor(prepare=True) as cursor:
            cursor.execute(
                _FIRST_VIEW_SQL,
                [state.pk, lesson.pk, status, now, now if completes else None,
                 *SEAT_HOLDING, state.version_id],
            )  # fmt: skip
            row = cursor.fetchone()
            if row is None or row[0] is None:
                return False
            enrollment = Enrollment.from_db(connection.alias, _ENROLLMENT_FIELDS, row[2:])
            enrollment.user = user
            changed: dict[str, Any] = {"last_lesson_id": lesson.pk}
            last = enrollment.last_activity_at
            if (
                enrollment.last_lesson_id != lesson.pk
                or last is None
                or (now - last).total_seconds() > TOUCH_SECONDS
            ):
                changed["last_activity_at"] = now
            sets = [f"{name} = %s" for name in changed]
            params: list[Any] = list(changed.values())
            required = [item.pk for item in outline if item.is_required]
            if completes and not required:
                sets.append("progress_pct = 100")
            elif completes:
                # a completed enrolment keeps what it had (reviewing a course completed on
                # site, with fewer lessons recorded, must not bring it down)
                sets.append(
                    "progress_pct = GREATEST(CASE WHEN status = %s THEN progress_pct ELSE 0 END, "
                    f"{_DONE_PCT})"
                )
                params += [Enrollment.Status.COMPLETED, enrollment.pk,
                           LessonProgress.Status.COMPLETED, required, len(required)]  # fmt: skip
            cursor.execute(
                f"UPDATE {Enrollment._meta.db_table} SET {', '.join(sets)} "  # noqa: S608
                f"WHERE id = %s RETURNING progress_pct, {_PROGRESS_COUNTS}",
                [*params, enrollment.pk, enrollment.pk, enrollment.pk,
                 LessonProgress.Status.COMPLETED],
            )  # fmt: skip
            pct, total, done = cursor.fetchone()
        for name, value in changed.items():
            setattr(enrollment, name, value)
        enrollment.progress_pct = pct
        events = [_lesson_statement(
            enrollment.registration, state.course_code, lesson,
            "experienced" if completes else "launched",
        )]  # fmt: skip
        if completes:
            events.append(
                _lesson_statement(
                    enrollment.registration, state.course_code, lesson, "completed",
                    {"completion": True},
                )
            )  # fmt: skip
        _emit_many(user, events)
        if completes:
            if enrollment.status == Enrollment.Status.ACTIVE and pct >= 100:
                # The course may be complete (a record that must survive a crash: this commit
                # waits for the disk again); the rules read the run, course and version.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('synchronous_commit', 'on', true)")
                enrollment = (
                    Enrollment.objects.select_related("run__course", "version")
                    .defer("run__course__description", "run__course__learning_outcomes")
                    .get(pk=enrollment.pk)
                )
                enrollment.user = user
            _lesson_completed(enrollment, lesson)
            _complete_if_met(enrollment, user)
    # What the player shows: the progress it read and this lesson's, unless the counts taken
    # under the lock say another tab recorded something meanwhile (then read again).
    progress = state.progress
    known_done = sum(1 for entry, _seconds in progress.values() if entry == "completed")
    if (total, done) == (len(progress) + 1, known_done + int(completes)):
        progress[lesson.pk] = (status, 0)
    else:
        state.progress = selectors.progress_states(enrollment_id=enrollment.pk)
    state.follow(enrollment)
    return True


def open_lesson(*, enrollment: Enrollment, lesson: Lesson) -> LessonProgress:
    """visit_lesson for a known enrolment and lesson (what the player does, without the page)."""
    try:
        return visit_lesson(
            registration=enrollment.registration, user=enrollment.user, lesson_id=lesson.pk
        ).progress
    except Lesson.DoesNotExist:
        raise ValidationError(_("This lesson is not part of your course version.")) from None


def complete_lesson(*, enrollment: Enrollment, lesson: Lesson, actor: Any) -> LessonProgress:
    """Mark a lesson completed (a video watched, a document read)."""
    return record_lesson_result(
        enrollment=enrollment,
        lesson=lesson,
        completed=True,
        passed=None,
        score_pct=None,
        actor=actor,
    )


# The video player's position save on PostgreSQL (save_video_position): one statement locks the
# enrolment (which orders it with the player's first view of the lesson, as before), inserts the
# progress or moves its position, and returns it: no BEGIN, no COMMIT, one round trip. Outside
# a transaction of the caller's, its commit does not wait for the disk (synchronous_commit off
# for itself, as a first view's): a database crash may lose the last fraction of a second of
# positions, which the next save (every 15 s) writes again. The watched threshold's completion
# is recorded by complete_lesson, durably, in its own transaction.
_SAVE_POSITION_SQL = f"""
WITH e AS MATERIALIZED (
    SELECT id FROM {Enrollment._meta.db_table} WHERE id = %s FOR UPDATE
)
INSERT INTO {LessonProgress._meta.db_table} AS p
    (enrollment_id, lesson_id, status, passed, score_pct, position_seconds, started_at,
     completed_at)
SELECT e.id, %s::bigint, %s::text, NULL, NULL, %s::integer, %s::timestamptz, NULL FROM e
ON CONFLICT (enrollment_id, lesson_id) DO UPDATE SET position_seconds = EXCLUDED.position_seconds
RETURNING p.id, p.status, p.position_seconds,
    set_config('synchronous_commit', COALESCE(%s::text, current_setting('synchronous_commit')),
               true)
"""  # noqa: S608 - table and column names from the models, values as parameters


def save_video_position(
    *, enrollment: Enrollment, lesson: Lesson, seconds: int, duration: int | None = None
) -> LessonProgress:
    """Remember where the learner left a video, to resume there; once they reach
    WATCHED_FRACTION of its `duration` the video counts as watched (the lesson is completed)."""
    if lesson.version_id != enrollment.version_id or lesson.kind != Lesson.Kind.VIDEO:
        raise ValidationError({"lesson": _("This lesson is not a video of your course version.")})
    if seconds < 0:
        raise ValidationError({"position": _("The position must be a number of seconds.")})
    if duration is not None:
        seconds = min(seconds, duration)
    progress = _save_position(enrollment, lesson, seconds)
    if (
        duration
        and seconds >= WATCHED_FRACTION * duration
        and progress.status != LessonProgress.Status.COMPLETED
    ):
        progress = complete_lesson(enrollment=enrollment, lesson=lesson, actor=enrollment.user)
    return progress


def _save_position(enrollment: Enrollment, lesson: Lesson, seconds: int) -> LessonProgress:
    """The learner's progress in `lesson` with its position at `seconds`, created if need be,
    under the enrolment's lock."""
    if connection.vendor == "postgresql":
        with bound_cursor(prepare=True) as cursor:
            cursor.execute(
                _SAVE_POSITION_SQL,
                [enrollment.pk, lesson.pk, LessonProgress.Status.STARTED, seconds,
                 timezone.now(), None if connection.in_atomic_block else "off"],
            )  # fmt: skip
            row = cursor.fetchone()
        if row is None:  # the enrolment is gone
            raise Enrollment.DoesNotExist
        player_state.forget(enrollment.pk)  # the player's kept state holds the position
        return LessonProgress(
            pk=row[0], enrollment_id=enrollment.pk, lesson=lesson, status=row[1],
            position_seconds=row[2],
        )  # fmt: skip
    with transaction.atomic():
        Enrollment.objects.select_for_update().filter(pk=enrollment.pk).values_list("pk").get()
        progress, _created = LessonProgress.objects.get_or_create(
            enrollment_id=enrollment.pk, lesson=lesson
        )
        if progress.position_seconds != seconds:
            progress.position_seconds = seconds
            progress.save(update_fields=["position_seconds"])
    return progress


def record_lesson_result(
    *,
    enrollment: Enrollment,
    lesson: Lesson,
    completed: bool,
    passed: bool | None,
    score_pct: Decimal | None,
    actor: Any,
) -> LessonProgress:
    """Record a learner's result in a lesson (viewed, watched, an xAPI result, a graded quiz),
    update the enrolment's progress and score, and evaluate the course's completion rules.

    Called by assessments when an attempt is graded. Idempotent: the same result twice changes
    nothing and emits one statement.
    """
    return record_lesson_results(
        [LessonResult(enrollment, lesson, completed, passed, score_pct, actor)]
    )[0]


@dataclass
class LessonResult:
    """A learner's result in a lesson, for record_lesson_results; `actor` recorded it (the
    course's completion event names them)."""

    enrollment: Enrollment
    lesson: Lesson
    completed: bool
    passed: bool | None = None
    score_pct: Decimal | None = None
    actor: Any = None


def record_lesson_results(results: list[LessonResult]) -> list[LessonProgress]:
    """record_lesson_result for many (enrolment, lesson) pairs at once (a run's released grades,
    a batch of xAPI results; a pair listed again applies after the first, as a second call
    would), in a fixed number of queries whatever their
    number: the enrolments locked in one, their progress read, inserted and updated in one
    each, the enrolments' progress and score recomputed in three and written in one, the
    `completed` statements stored in one. Then, one by one, the dashboards' activity of those
    who completed a lesson, and the course's completion of those whose every required lesson is
    done. Returns the progress of each pair, in order."""
    for item in results:
        if item.lesson.version_id != item.enrollment.version_id:
            raise ValidationError(_("This lesson is not part of your course version."))
    if not results:
        return []
    now = timezone.now()
    ids = sorted({item.enrollment.pk for item in results})
    with transaction.atomic():
        locked = {
            enrollment.pk: enrollment
            for enrollment in Enrollment.objects.select_for_update(of=("self",))
            .select_related("run__course", "version", "user", "institution")
            .filter(pk__in=ids)
            .order_by("pk")
        }
        recorded = {
            (progress.enrollment_id, progress.lesson_id): progress
            for progress in LessonProgress.objects.select_for_update().filter(
                enrollment_id__in=ids, lesson_id__in={item.lesson.pk for item in results}
            )
        }
        rows: list[LessonProgress] = []
        new: list[LessonProgress] = []
        changed: dict[int, LessonProgress] = {}
        completions: list[tuple[Enrollment, LessonResult]] = []
        for item in results:
            enrollment = locked[item.enrollment.pk]
            progress = recorded.get((enrollment.pk, item.lesson.pk))
            if progress is None:
                progress = LessonProgress(enrollment=enrollment, lesson=item.lesson, started_at=now)
                recorded[(enrollment.pk, item.lesson.pk)] = progress
                new.append(progress)
            elif progress.pk is not None:
                changed[progress.pk] = progress
            if item.completed and progress.status != LessonProgress.Status.COMPLETED:
                progress.status = LessonProgress.Status.COMPLETED
                progress.completed_at = now
                completions.append((enrollment, item))
            if item.passed is not None:
                progress.passed = item.passed
            if item.score_pct is not None:
                progress.score_pct = item.score_pct
            rows.append(progress)
        LessonProgress.objects.bulk_create(new, batch_size=BULK_BATCH)
        bulk_update(
            list(changed.values()),
            ["status", "completed_at", "passed", "score_pct"],
            batch_size=BULK_BATCH,
        )
        scored = {item.enrollment.pk for item in results if item.lesson.requires_pass}
        _refresh_progress([locked[pk] for pk in ids], now, scored=scored)
        from lms.xapi.emit import emit_many

        emit_many(
            (enrollment.user, _lesson_event(enrollment, item.lesson, "completed", _result_of(item)))
            for enrollment, item in completions
        )
        _lessons_completed([(enrollment, item.lesson) for enrollment, item in completions])
        _complete_all_met(
            [locked[pk] for pk in ids], {item.enrollment.pk: item.actor for item in results}
        )
    return rows


def _result_of(item: LessonResult) -> dict[str, Any]:
    """The xAPI result of a lesson completed with this result."""
    result: dict[str, Any] = {"completion": True}
    if item.passed is not None:
        result["success"] = item.passed
    if item.score_pct is not None:
        result["score_scaled"] = float(item.score_pct) / 100
    return result


def _refresh_progress(enrollments: list[Enrollment], now: Any, *, scored: set[int]) -> None:
    """Progress %, score and pass of locked enrolments from their lesson progress, written in
    one UPDATE; the score only for those in `scored` (a result in a lesson that must be passed).

    Counts of these enrolments' own rows (indexed by the enrolment): joining the lessons to all
    their progress would count every other learner's rows too (work that grows with the run)."""
    versions = {enrollment.version_id for enrollment in enrollments}
    required = dict(
        Lesson.objects.filter(version_id__in=versions, is_required=True)
        .values("version_id")
        .annotate(count=Count("pk"))
        .values_list("version_id", "count")
    )
    done = {
        (row["enrollment_id"], row["lesson__version_id"]): row["count"]
        for row in LessonProgress.objects.filter(
            enrollment_id__in=[enrollment.pk for enrollment in enrollments],
            status=LessonProgress.Status.COMPLETED,
            lesson__is_required=True,
        )
        .values("enrollment_id", "lesson__version_id")
        .annotate(count=Count("pk"))
    }
    # Only lessons that must be passed carry the scores the final score averages.
    scores: dict[int, list[Decimal]] = {}
    if scored:
        for enrollment_id, score in LessonProgress.objects.filter(
            enrollment_id__in=scored, lesson__requires_pass=True, score_pct__isnull=False
        ).values_list("enrollment_id", "score_pct"):
            if score is not None:
                scores.setdefault(enrollment_id, []).append(Decimal(score))
    for enrollment in enrollments:
        total = required.get(enrollment.version_id, 0)
        count = done.get((enrollment.pk, enrollment.version_id), 0)
        pct = 100 if total == 0 else (100 * count) // total
        # a completed enrolment keeps what it had (one completed on site may have fewer lessons
        # recorded: reviewing it must not bring its progress down)
        if enrollment.status == Enrollment.Status.COMPLETED:
            pct = max(pct, enrollment.progress_pct or 0)
        enrollment.progress_pct = pct
        own = scores.get(enrollment.pk)
        if own:
            enrollment.score_pct = (sum(own, Decimal(0)) / len(own)).quantize(Decimal("0.01"))
        enrollment.last_activity_at = now
    bulk_update(
        enrollments, ["progress_pct", "score_pct", "last_activity_at"], batch_size=BULK_BATCH
    )


@dataclass(frozen=True)
class CompletionCheck:
    """Which completion rules an enrolment meets."""

    lessons_done: bool
    assessments_passed: bool
    attendance_met: bool

    @property
    def met(self) -> bool:
        return self.lessons_done and self.assessments_passed and self.attendance_met


def check_completion(enrollment: Enrollment) -> CompletionCheck:
    """Evaluate the completion rules of the enrolment's pinned version."""
    checks, _assessed = _completion_facts([enrollment])
    return checks[enrollment.pk]


def _completion_facts(
    enrollments: list[Enrollment],
) -> tuple[dict[int, CompletionCheck], set[int]]:
    """check_completion for many enrolments in two queries (their versions' required and
    must-pass lessons; which of those each has completed, and passed), and the versions that
    have lessons to pass."""
    lessons: dict[int, list[tuple[int, bool, bool]]] = {}
    for pk, version_id, required, must_pass in Lesson.objects.filter(
        Q(is_required=True) | Q(requires_pass=True),
        version_id__in={enrollment.version_id for enrollment in enrollments},
    ).values_list("pk", "version_id", "is_required", "requires_pass"):
        lessons.setdefault(version_id, []).append((pk, required, must_pass))
    done = {
        (enrollment_id, lesson_id): passed
        for enrollment_id, lesson_id, passed in LessonProgress.objects.filter(
            enrollment_id__in=[enrollment.pk for enrollment in enrollments],
            lesson_id__in=[pk for listed in lessons.values() for pk, _r, _p in listed],
            status=LessonProgress.Status.COMPLETED,
        ).values_list("enrollment_id", "lesson_id", "passed")
    }
    checks = {}
    for enrollment in enrollments:
        mine = lessons.get(enrollment.version_id, [])
        version = enrollment.version
        attendance_met = True
        if enrollment.run.mode != CourseRun.Mode.VIRTUAL and version.min_attendance_pct:
            attendance_met = (enrollment.attendance_pct or 0) >= version.min_attendance_pct
        checks[enrollment.pk] = CompletionCheck(
            lessons_done=all((enrollment.pk, pk) in done for pk, required, _p in mine if required),
            assessments_passed=all(
                done.get((enrollment.pk, pk)) is True for pk, _r, must_pass in mine if must_pass
            ),
            attendance_met=attendance_met,
        )
    assessed = {version for version, listed in lessons.items() if any(p for _k, _r, p in listed)}
    return checks, assessed


def evaluate_completion(*, enrollment: Enrollment, actor: Any) -> bool:
    """Complete the enrolment if it meets every rule; fires course_completed exactly once."""
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("run__course", "version", "user", "institution")
            .get(pk=enrollment.pk)
        )
        return _complete_if_met(enrollment, actor)


def _complete_if_met(enrollment: Enrollment, actor: Any) -> bool:
    """Complete the enrolment (locked by the caller, in its transaction) if it meets the rules."""
    return bool(_complete_all_met([enrollment], {enrollment.pk: actor}))


def _complete_all_met(enrollments: list[Enrollment], actors: dict[int, Any]) -> list[Enrollment]:
    """_complete_if_met for many enrolments (locked by the caller, with their run, course,
    version and learner), in a fixed number of queries whatever their number: the rules checked
    in two, then for those that meet them the enrolments, the runs' counts, the events, the
    `completed` statements and the trainers' qualifications written in one statement each;
    after the commit enrollment_changed (enrollments_changed for many), then course_completed
    for each, once. Returns the enrolments completed; `actors` says who completed each."""
    # progress_pct counts the required lessons done: below 100 no rule can be met yet.
    candidates = [
        enrollment
        for enrollment in enrollments
        if enrollment.status == Enrollment.Status.ACTIVE and enrollment.progress_pct >= 100
    ]
    if not candidates:
        return []
    checks, assessed = _completion_facts(candidates)
    met = [enrollment for enrollment in candidates if checks[enrollment.pk].met]
    if not met:
        return []
    now = timezone.now()
    for enrollment in met:
        enrollment.status = Enrollment.Status.COMPLETED
        enrollment.completed_at = now
        enrollment.progress_pct = 100
        enrollment.passed = True if enrollment.version_id in assessed else enrollment.passed
    bulk_update(met, ["status", "completed_at", "progress_pct", "passed"], batch_size=BULK_BATCH)
    runs: dict[int, int] = {}
    for enrollment in met:
        runs[enrollment.run_id] = runs.get(enrollment.run_id, 0) + 1
    for run_id, count in runs.items():
        CourseRun.objects.filter(pk=run_id).update(completed_count=F("completed_count") + count)
    EnrollmentEvent.objects.bulk_create(
        [
            _event(
                enrollment,
                Enrollment.Status.ACTIVE,
                actors.get(enrollment.pk),
                "completion rules met",
            )
            for enrollment in met
        ],
        batch_size=BULK_BATCH,
    )
    from lms.xapi.emit import emit_many

    emit_many((enrollment.user, _course_completed(enrollment)) for enrollment in met)
    TrainerQualification.objects.bulk_create(
        [
            TrainerQualification(
                user_id=enrollment.user_id,
                course_id=enrollment.run.course_id,
                qualified_by_run=enrollment.run,
                qualified_at=now,
            )
            for enrollment in met
            if enrollment.run.qualifies_trainers
        ],
        ignore_conflicts=True,
    )
    done = Enrollment.Status.COMPLETED

    def announce() -> None:
        if len(met) == 1:
            signals.enrollment_changed.send(
                sender=Enrollment, enrollment=met[0], from_status="active", to_status=done
            )
            signals.course_completed.send(sender=Enrollment, enrollment=met[0])
        else:
            signals.enrollments_changed.send(
                sender=Enrollment, changes=[(enrollment, "active", done) for enrollment in met]
            )
            signals.courses_completed.send(sender=Enrollment, enrollments=list(met))

    transaction.on_commit(announce)
    return met


def _course_completed(enrollment: Enrollment) -> dict[str, Any]:
    """The statement of a course completed (emit_many's keywords)."""
    result: dict[str, Any] = {"completion": True, "success": True}
    if enrollment.score_pct is not None:
        result["score_scaled"] = float(enrollment.score_pct) / 100
    course = enrollment.run.course
    return {
        "verb": "completed",
        "activity_id": course_activity_id(course),
        "activity_name": course.title or None,
        "activity_type": "http://adlnet.gov/expapi/activities/course",
        "registration": enrollment.registration,
        "statement_id": statement_id("course-completed", enrollment.registration),
        "result": result,
    }


# Attendance -----------------------------------------------------------------------------------


def record_attendance(
    *, session: Session, marks: dict[int, str], actor: Any
) -> list[AttendanceRecord]:
    """Take attendance for a session: {enrollment id: status}. Recomputes each learner's
    attendance rate and completion. Only those who teach the run may do it, once the session
    has started (a mark taken before would count an absence as attendance), and with someone
    marked.

    Bulk work for a roster of hundreds: the records are upserted in one statement, their
    `attended` statements stored in one, the rates updated in one; the officers this marking
    may complete (active, every required lesson done, the version's attendance met) are locked
    and completed together, so a session costs the same queries for 3 or 300 officers."""
    run = session.run
    if not has_perm(actor, "courses.teach_run", run):
        raise PermissionDenied(_("You do not teach this course run."))
    now = timezone.now()
    if not session_started(session, now):
        raise ValidationError(
            {"session": _("This session has not started yet: take attendance once it starts.")},
            code="not_started",
        )
    if not marks:
        raise ValidationError(
            {"status": _("Nobody was marked: choose a status for each officer, or for everyone.")},
            code="nothing_marked",
        )
    valid = {choice for choice, _label in AttendanceRecord.Status.choices}
    for status in marks.values():
        if status not in valid:
            raise ValidationError({"status": _("Choose present, late, absent or excused.")})
    with transaction.atomic():
        enrollments = {
            e.pk: e
            for e in Enrollment.objects.filter(
                run_id=run.pk, pk__in=list(marks), status__in=SEAT_HOLDING
            ).select_related("user", "version")
        }
        unknown = set(marks) - set(enrollments)
        if unknown:
            raise ValidationError({"enrollment": _("Someone listed is not enrolled in this run.")})
        records = AttendanceRecord.objects.bulk_create(
            [
                AttendanceRecord(
                    session=session,
                    enrollment_id=enrollment_id,
                    status=status,
                    recorded_by=actor,
                    recorded_at=now,
                )
                for enrollment_id, status in marks.items()
            ],
            update_conflicts=True,
            unique_fields=["session", "enrollment"],
            update_fields=["status", "recorded_by", "recorded_at"],
        )
        _emit_attended(session, run, [(enrollments[r.enrollment_id], r.status) for r in records])
        rates = refresh_attendance(run=run, enrollment_ids=list(marks))
        offline = _nothing_required_online({e.version_id for e in enrollments.values()})
        _all_read(enrollments.values(), offline)
        candidates = [pk for pk in marks if _may_complete(enrollments[pk], run, rates.get(pk))]
        if candidates:
            locked = list(
                Enrollment.objects.select_for_update(of=("self",))
                .select_related("run__course", "version", "user", "institution")
                .filter(pk__in=candidates)
                .order_by("pk")
            )
            _all_read(locked, offline)
            _complete_all_met(locked, dict.fromkeys(candidates, actor))
        taken = list(records)
        transaction.on_commit(
            lambda: signals.attendance_recorded.send(sender=Session, session=session, records=taken)
        )
    return records


def _nothing_required_online(version_ids: set[int]) -> set[int]:
    """Those of the versions that require no lesson (an on-site course taught in the room):
    one query."""
    required = Lesson.objects.filter(version_id__in=version_ids, is_required=True)
    return version_ids - set(required.values_list("version_id", flat=True).distinct())


def _all_read(enrollments: Iterable[Enrollment], offline: set[int]) -> None:
    """Every lesson a version in `offline` requires is done: its enrolments' progress is 100 %
    (counted as lessons are done, it never rose from 0 for an officer who opened none)."""
    for enrollment in enrollments:
        if enrollment.version_id in offline:
            enrollment.progress_pct = 100


def session_started(session: Session, now: Any = None) -> bool:
    """Whether attendance may be taken for `session`: it has started."""
    return session.starts_at <= (now or timezone.now())


def _may_complete(enrollment: Enrollment, run: CourseRun, attendance_pct: int | None) -> bool:
    """Whether taking attendance could complete this enrolment (evaluate_completion decides,
    under its lock): active, every required lesson done, and the version's minimum attendance
    met by the rate just computed. The rest cannot complete by being marked."""
    if enrollment.status != Enrollment.Status.ACTIVE or enrollment.progress_pct < 100:
        return False
    minimum = enrollment.version.min_attendance_pct
    if run.mode == CourseRun.Mode.VIRTUAL or not minimum:
        return True
    return (attendance_pct or 0) >= minimum


def _emit_attended(session: Session, run: CourseRun, marked: list[tuple[Enrollment, str]]) -> None:
    """One `attended` statement per officer present or late, all in one round trip (the same
    mark again stores nothing new: the statement id is the mark's)."""
    from lms.xapi.emit import emit_many

    activity = _session_activity_id(session)
    parent = course_activity_id(run.course)
    emit_many(
        (
            enrollment.user,
            {
                "verb": "attended",
                "activity_id": activity,
                "activity_name": session.title or None,
                "activity_type": "http://adlnet.gov/expapi/activities/meeting",
                "registration": enrollment.registration,
                "parent_activity_id": parent,
                "statement_id": statement_id(
                    "attended", enrollment.registration, session.pk, status
                ),
            },
        )
        for enrollment, status in marked
        if status in (AttendanceRecord.Status.PRESENT, AttendanceRecord.Status.LATE)
    )


def _session_activity_id(session: Session) -> str:
    from lms.xapi.emit import activity_iri

    return activity_iri("session", session.pk)


def refresh_attendance(*, run: CourseRun, enrollment_ids: list[int]) -> dict[int, int]:
    """Attendance % = sessions attended (present or late) / scheduled sessions not excused.
    Written in one UPDATE for all the enrolments; returns {enrollment id: %}."""
    sessions = Session.objects.filter(run_id=run.pk).count()
    rows = (
        AttendanceRecord.objects.filter(enrollment_id__in=enrollment_ids, session__run_id=run.pk)
        .values("enrollment_id")
        .annotate(
            attended=Count("pk", filter=Q(status__in=["present", "late"])),
            excused=Count("pk", filter=Q(status="excused")),
        )
    )
    rates: dict[int, int] = {}
    for row in rows:
        expected = sessions - row["excused"]
        rates[row["enrollment_id"]] = (
            100 if expected <= 0 else min(100, (100 * row["attended"]) // expected)
        )
    bulk_update(
        [Enrollment(pk=pk, attendance_pct=pct) for pk, pct in rates.items()],
        ["attendance_pct"],
        batch_size=BULK_BATCH,
    )
    return rates


# Versions -------------------------------------------------------------------------------------


def editable_version(*, course: Course, actor: Any) -> CourseVersion:
    """The version of `course` that may be edited now: the current one while nobody started it
    and no university accredited it, else a new version copied from it (modules and lessons,
    keeping each lesson's key) that becomes current. Enrolments keep their pinned version."""
    if not has_perm(actor, "courses.author_course", course):
        raise PermissionDenied(_("You may not edit this course."))
    with transaction.atomic():
        course = Course.objects.select_for_update().get(pk=course.pk)
        current = course.current_version
        if current is None:
            current = CourseVersion.objects.create(course=course, number=1, created_by=actor)
            course.current_version = current
            course.save(update_fields=["current_version"])
            return current
        if not current.is_frozen:
            return current
        new = copy_version(version=current, actor=actor)
        course.current_version = new
        course.save(update_fields=["current_version"])
        previous = current
        transaction.on_commit(
            lambda: signals.course_version_created.send(
                sender=Course, course=course, version=new, previous=previous
            )
        )
    return new


def copy_version(*, version: CourseVersion, actor: Any) -> CourseVersion:
    """A new, unfrozen version of the course with the same rules, modules and lessons."""
    with transaction.atomic():
        number = (
            CourseVersion.objects.filter(course_id=version.course_id).aggregate(n=Max("number"))[
                "n"
            ]
            or 0
        ) + 1
        new = CourseVersion.objects.create(
            course_id=version.course_id,
            number=number,
            created_by=actor if getattr(actor, "pk", None) else None,
            min_attendance_pct=version.min_attendance_pct,
            passing_score_pct=version.passing_score_pct,
            contact_hours=version.contact_hours,
            self_study_hours=version.self_study_hours,
            notes="",
        )
        lessons = list(Lesson.objects.filter(version=version).order_by("module_id", "position"))
        for module in Module.objects.filter(version=version).order_by("position"):
            old_pk = module.pk
            module.pk = None
            module.version = new
            module.save()
            for lesson in lessons:
                if lesson.module_id == old_pk:
                    lesson.pk = None
                    lesson.version = new
                    lesson.module = module
                    lesson.save()
    return new


def freeze_version(*, version: CourseVersion) -> None:
    """Freeze a version (for example when a university accredits it): edits make a new one."""
    CourseVersion.objects.filter(pk=version.pk).update(is_frozen=True)


# Train-the-trainers ---------------------------------------------------------------------------


def create_replicated_run(
    *,
    source: CourseRun,
    trainer: Any,
    code: str = "",
    supervisor: Any | None,
    actor: Any,
    **fields: Any,
) -> CourseRun:
    """A run delivered by a qualified trainer at their own institution, replicating `source`.

    The trainer plans it themself, or a coordinator of the trainer's institution does; the run is
    always hosted by the trainer's institution, with the trainer as its replicating instructor
    (who then manages it: courses.manage_run). It starts today at the earliest.
    """
    if not TrainerQualification.objects.filter(user=trainer, course_id=source.course_id).exists():
        raise ValidationError({"trainer": _("This person is not qualified to teach the course.")})
    if trainer.institution_id is None or (
        actor.pk != trainer.pk
        and not has_perm(actor, "courses.enrol_officers", trainer.institution)
    ):
        raise PermissionDenied(_("You may not plan runs at this institution."))
    if supervisor is not None and supervisor.pk == trainer.pk:
        raise ValidationError(
            {"supervisor": _("The supervising expert must be someone other than the trainer.")}
        )
    starts_on = fields.get("starts_on")
    if starts_on is not None and starts_on < timezone.localdate():
        raise ValidationError({"starts_on": _("The run cannot start in the past.")})
    with transaction.atomic():
        # One plan at a time per trainer and course (their qualification's row is locked): the
        # same form sent twice at once finds the run the first one planned.
        list(
            TrainerQualification.objects.select_for_update()
            .filter(user_id=trainer.pk, course_id=source.course_id)
            .values_list("pk", flat=True)
        )
        planned = _planned_replication(source, trainer, starts_on)
        if planned is not None:
            raise ValidationError(
                {"starts_on": _("A run of this course by this trainer starting on this date is "
                                "already planned: %(code)s.") % {"code": planned.code}}
            )  # fmt: skip
        run = _create_replicated_run(
            source, trainer, code,
            course_id=source.course_id,
            version_id=source.course.current_version_id or source.version_id,
            mode=fields.pop("mode", CourseRun.Mode.ONSITE),
            language=fields.pop("language", source.language),
            host_institution_id=trainer.institution_id,
            member_state_id=trainer.institution.member_state_id,
            replicated_from=source,
            supervisor=supervisor,
            **fields,
        )  # fmt: skip
        RunInstructor.objects.create(run=run, user=trainer, role=RunInstructor.Role.TRAINER)
    return run


def _planned_replication(source: CourseRun, trainer: Any, starts_on: Any) -> CourseRun | None:
    """The run of the course the trainer already leads at their institution from `starts_on`,
    still planned (draft or open): planning it again would double it."""
    if starts_on is None:
        return None
    return (
        CourseRun.objects.filter(
            course_id=source.course_id,
            host_institution_id=trainer.institution_id,
            starts_on=starts_on,
            status__in=(CourseRun.Status.DRAFT, CourseRun.Status.OPEN),
            run_instructors__user_id=trainer.pk,
            run_instructors__role=RunInstructor.Role.TRAINER,
        )
        .order_by("pk")
        .first()
    )


# Codes tried for a replicated run when others take them meanwhile.
REPLICATION_CODE_ATTEMPTS = 5


def _create_replicated_run(source: CourseRun, trainer: Any, code: str, **values: Any) -> CourseRun:
    """The run with `code`, or with the next free replication code: one taken meanwhile (another
    trainer of the institution planning at the same moment) is chosen again, in a savepoint."""
    for _attempt in range(REPLICATION_CODE_ATTEMPTS):
        chosen = code or _replication_code(source, trainer)
        try:
            with transaction.atomic():
                return CourseRun.objects.create(code=chosen, **values)
        except IntegrityError:
            if not CourseRun.objects.filter(code=chosen).exists():
                raise
            if code:
                break
    raise ValidationError({"code": _("A course run with this code exists already.")})


# The sequence that ends a replication code ("…-rep-pi3-4"); more digits are not one of ours.
REPLICATION_SEQUENCE = re.compile(r"[0-9]{1,8}")


def _replication_code(source: CourseRun, trainer: Any) -> str:
    """The next run code such as "hr-101-rep-pi3-4" (course, institution, sequence): one past
    the highest sequence in use. (A count of the codes gave a number in use once one was
    missing from the sequence, or another institution's short name began with this one's.)"""
    from django.utils.text import slugify

    institution = trainer.institution
    stem = slugify(f"{source.course.code}-rep-{institution.short_name or institution.pk}")[:50]
    prefix = f"{stem}-"
    codes = CourseRun.objects.filter(code__startswith=prefix).values_list("code", flat=True)
    used = [
        int(code[len(prefix) :])
        for code in codes
        if REPLICATION_SEQUENCE.fullmatch(code[len(prefix) :])
    ]
    return f"{prefix}{max(used, default=0) + 1}"


def replication_source(*, course: Course, trainer: Any) -> CourseRun | None:
    """The run a trainer replicates: the one that qualified them, else the course's latest
    train-the-trainers run."""
    qualification = (
        TrainerQualification.objects.filter(user_id=trainer.pk, course_id=course.pk)
        .select_related("qualified_by_run__course")
        .first()
    )
    if qualification is not None and qualification.qualified_by_run is not None:
        return qualification.qualified_by_run
    return (
        CourseRun.objects.filter(course_id=course.pk, qualifies_trainers=True)
        .select_related("course")
        .order_by("-starts_on", "-pk")
        .first()
    )


def record_observation(
    *,
    run: CourseRun,
    supervisor: Any,
    trainer: Any,
    feedback: str,
    rating: int | None = None,
    session: Session | None = None,
) -> SupervisionObservation:
    """The supervising expert's feedback on a replicating trainer's teaching (or a coordinator's
    of the host institution; never the trainer's own, though they manage the run)."""
    if run.supervisor_id != supervisor.pk and not has_perm(
        supervisor, "courses.coordinate_run", run
    ):
        raise PermissionDenied(_("Only the supervising expert may record observations."))
    if not RunInstructor.objects.filter(
        run_id=run.pk, user_id=trainer.pk, role=RunInstructor.Role.TRAINER
    ).exists():
        raise ValidationError(
            {"trainer": _("This person is not a replicating trainer of the run.")}
        )
    if not feedback.strip():
        raise ValidationError({"feedback": _("Write your feedback on the teaching.")})
    if rating is not None and not 1 <= rating <= 5:
        raise ValidationError({"rating": _("The rating is a number from 1 to 5.")})
    feedback = feedback.strip()
    with transaction.atomic():
        # One observation at a time per run (its row is locked): the same form sent twice (a
        # double click, a retry) finds the observation the first one saved, the observer's last.
        CourseRun.objects.select_for_update().filter(pk=run.pk).values_list("pk").get()
        last = (
            SupervisionObservation.objects.filter(run=run, supervisor=supervisor)
            .order_by("-observed_at", "-pk")
            .first()
        )
        if last is not None and (last.trainer_id, last.session_id, last.rating, last.feedback) == (
            trainer.pk,
            session.pk if session is not None else None,
            rating,
            feedback,
        ):
            raise AlreadyCreated(last)
        return SupervisionObservation.objects.create(
            run=run,
            trainer=trainer,
            supervisor=supervisor,
            session=session,
            rating=rating,
            feedback=feedback,
        )


# Authoring ------------------------------------------------------------------------------------
#
# Coordinators of a course's owner institution and DPS staff edit courses outside the admin.
# Course-level text (titles, descriptions, outcomes) belongs to the course; modules, lessons and
# completion rules belong to a version, and a frozen version (learners started it, or it is
# accredited) is read-only: editing it asks for an editable version first (editable_version).


class VersionFrozen(ValidationError):
    """The course's current version is frozen; make an editable version to change content."""


class AlreadyCreated(Exception):  # noqa: N818 - says what happened, as VersionFrozen does
    """What the form asks to create was just created (the same form sent twice, a double
    click, a retry): `existing` is that row. The page shows it rather than a second one."""

    def __init__(self, existing: Any) -> None:
        super().__init__(existing)
        self.existing = existing


def _require_author(actor: Any, course: Course) -> None:
    if not has_perm(actor, "courses.author_course", course):
        raise PermissionDenied(_("You may not edit this course."))


def _open_version(course: Course) -> CourseVersion:
    """The course's current version, if content may be edited in it."""
    version = (
        CourseVersion.objects.filter(pk=course.current_version_id).first()
        if course.current_version_id is not None
        else None
    )
    if version is None:
        raise VersionFrozen(_("The course has no version to edit yet."), code="no_version")
    if version.is_frozen:
        raise VersionFrozen(
            _(
                "Version %(number)s is frozen: learners have started it or it is accredited. "
                "Make an editable version first."
            )
            % {"number": version.number},
            code="frozen",
        )
    return version


def check_editable(*, course: Course, item: Module | Lesson | None = None) -> CourseVersion:
    """The version whose content may be edited now: the course's current one, unless it is
    frozen; `item` (a module or lesson) must belong to it (not to an older version)."""
    version = _open_version(course)
    if item is not None and item.version_id != version.pk:
        raise VersionFrozen(
            _("This belongs to version %(number)s, which is no longer edited.")
            % {"number": item.version.number},
            code="version",
        )
    return version


def create_course(*, actor: Any, owner_institution: Any, **fields: Any) -> Course:
    """A new course owned by an institution the actor coordinates (any for DPS), with an empty
    first version that becomes current."""
    if owner_institution is None:
        if not get_scope(actor).is_dps:
            raise ValidationError({"owner_institution": _("Choose the owner institution.")})
    elif not has_perm(actor, "courses.enrol_officers", owner_institution):
        raise PermissionDenied(_("You may create courses only for your institution."))
    taken = ValidationError({"code": _("A course with this code exists already.")})
    with transaction.atomic():
        if Course.objects.filter(code__iexact=fields.get("code", "")).exists():
            raise taken
        try:
            with transaction.atomic():  # a savepoint: the same code may be saved meanwhile
                course = Course.objects.create(owner_institution=owner_institution, **fields)
        except IntegrityError:
            if Course.objects.filter(code__iexact=fields.get("code", "")).exists():
                raise taken from None
            raise
        version = CourseVersion.objects.create(
            course=course, number=1, created_by=actor if getattr(actor, "pk", None) else None
        )
        course.current_version = version
        course.save(update_fields=["current_version"])
    return course


COURSE_EDITABLE_FIELDS = (
    "credit_hours", "default_language", "languages", "title", "description",
    "learning_outcomes", "owner_institution", "is_published",
)  # fmt: skip


def update_course(*, actor: Any, course: Course, **fields: Any) -> Course:
    """Change a course's own fields (its language versions of title, description, outcomes)."""
    _require_author(actor, course)
    unknown = set(fields) - set(COURSE_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    owner = fields.get("owner_institution", course.owner_institution)
    if (
        owner is not None
        and owner != course.owner_institution
        and not has_perm(actor, "courses.enrol_officers", owner)
    ):
        raise PermissionDenied(_("You may create courses only for your institution."))
    for name, value in fields.items():
        setattr(course, name, value)
    course.save(update_fields=[*fields, "updated_at"])
    return course


def save_module(
    *, actor: Any, course: Course, module: Module | None, title: dict[str, str]
) -> Module:
    """Add a module at the end of the current version, or rename one of it. Adding again the
    module just added (the version's last module has this title and no lesson yet: the same
    form sent twice) raises AlreadyCreated with it."""
    _require_author(actor, course)
    with transaction.atomic():
        version = check_editable(course=course, item=module)
        if module is None:
            # One new module at a time per version (its row is locked): each finds the last
            # position, and the module a copy of the same form has just added.
            CourseVersion.objects.select_for_update().filter(pk=version.pk).values_list("pk").get()
            last = Module.objects.filter(version=version).order_by("-position", "-pk").first()
            if last is not None and last.title == title and not last.lessons.exists():
                raise AlreadyCreated(last)
            position = last.position + 1 if last is not None else 1
            return Module.objects.create(version=version, position=position, title=title)
        module.title = title
        module.save(update_fields=["title"])
    return module


def save_lesson(
    *, actor: Any, course: Course, lesson: Lesson | None, module: Module, **fields: Any
) -> Lesson:
    """Add a lesson at the end of a module of the current version, or change one of it. Text is
    sanitised here, once, rather than each time it is shown."""
    from courses.content import clean_html

    _require_author(actor, course)
    if "body" in fields:
        # Emptiness is judged after sanitising: a text that was only a script is no text.
        cleaned = {lang: clean_html(html) for lang, html in fields["body"].items() if html}
        fields["body"] = {lang: html for lang, html in cleaned.items() if html.strip()}
    with transaction.atomic():
        version = check_editable(course=course, item=lesson or module)
        if lesson is not None and lesson.module_id != module.pk:
            raise ValidationError({"module": _("The lesson is in another module.")})
        if lesson is None:
            last = Lesson.objects.filter(module=module).aggregate(n=Max("position"))["n"] or 0
            lesson = Lesson(version=version, module=module, position=last + 1)
        for name, value in fields.items():
            setattr(lesson, name, value)
        lesson.full_clean(exclude=["version", "module"])
        lesson.save()
    return lesson


def move(*, actor: Any, course: Course, item: Module | Lesson, direction: str) -> None:
    """Swap a module (or a lesson within its module) with its neighbour, "up" or "down"."""
    _require_author(actor, course)
    if direction not in ("up", "down"):
        raise ValidationError({"direction": _("Move up or down.")})
    with transaction.atomic():
        version = check_editable(course=course, item=item)
        siblings: Any = (
            Module.objects.filter(version=version)
            if isinstance(item, Module)
            else Lesson.objects.filter(module_id=item.module_id)
        )
        ordered = list(siblings.select_for_update().order_by("position", "pk"))
        index = next(i for i, other in enumerate(ordered) if other.pk == item.pk)
        target = index - 1 if direction == "up" else index + 1
        if not 0 <= target < len(ordered):
            return
        ordered[index], ordered[target] = ordered[target], ordered[index]
        for position, other in enumerate(ordered, start=1):
            if other.position != position:
                other.position = position
                other.save(update_fields=["position"])


def create_run(
    *, actor: Any, course: Course, instructors: Iterable[Any] = (), **fields: Any
) -> CourseRun:
    """A run of the course's current version, hosted by an institution the actor coordinates."""
    _require_author(actor, course)
    host = fields.get("host_institution")
    if host is not None and not has_perm(actor, "courses.enrol_officers", host):
        raise PermissionDenied(_("You may plan runs only at your institution."))
    if host is None and not get_scope(actor).is_dps:
        raise ValidationError({"host_institution": _("Choose the host institution.")})
    if course.current_version_id is None:
        raise VersionFrozen(_("The course has no version to deliver yet."), code="no_version")
    taken = ValidationError({"code": _("A course run with this code exists already.")})
    with transaction.atomic():
        if CourseRun.objects.filter(code__iexact=fields.get("code", "")).exists():
            raise taken
        try:
            with transaction.atomic():  # a savepoint: the same code may be saved meanwhile
                run = CourseRun.objects.create(
                    course=course,
                    version_id=course.current_version_id,
                    member_state_id=host.member_state_id if host is not None else None,
                    **fields,
                )
        except IntegrityError:
            if CourseRun.objects.filter(code__iexact=fields.get("code", "")).exists():
                raise taken from None
            raise
        RunInstructor.objects.bulk_create(
            RunInstructor(run=run, user=user, role=RunInstructor.Role.LEAD) for user in instructors
        )
    return run


def add_session(*, actor: Any, run: CourseRun, **fields: Any) -> Session:
    """A scheduled session of a run (those who manage the run plan its sessions), within the
    run's dates when it has them (in the site's time zone)."""
    if not has_perm(actor, "courses.manage_run", run):
        raise PermissionDenied(_("You may not plan sessions of this run."))
    if fields["ends_at"] <= fields["starts_at"]:
        raise ValidationError({"ends_at": _("A session ends after it starts.")})
    starts, ends = timezone.localdate(fields["starts_at"]), timezone.localdate(fields["ends_at"])
    if run.starts_on is not None and starts < run.starts_on:
        raise ValidationError(
            {"starts_at": _("The session cannot start before the run starts (%(date)s).")
             % {"date": formats.date_format(run.starts_on, "SHORT_DATE_FORMAT")}}
        )  # fmt: skip
    if run.ends_on is not None and (starts > run.ends_on or ends > run.ends_on):
        field = "starts_at" if starts > run.ends_on else "ends_at"
        raise ValidationError(
            {field: _("The session cannot take place after the run ends (%(date)s).")
             % {"date": formats.date_format(run.ends_on, "SHORT_DATE_FORMAT")}}
        )  # fmt: skip
    _refuse_same_times(run, fields)
    try:
        with transaction.atomic():  # a savepoint: the same session may be added meanwhile
            session = Session.objects.create(run=run, **fields)
            # the rates already taken count the run's sessions: one more is one more to attend
            marked = Enrollment.objects.filter(run_id=run.pk, attendance_pct__isnull=False)
            refresh_attendance(run=run, enrollment_ids=list(marked.values_list("pk", flat=True)))
            return session
    except IntegrityError:  # session_unique_run_times
        _refuse_same_times(run, fields)
        raise


def _refuse_same_times(run: CourseRun, fields: dict[str, Any]) -> None:
    """A run has one session from a given start to a given end: the same session again (same
    title and room: the form sent twice) raises AlreadyCreated with it; another one at those
    times is refused, naming its start."""
    existing = Session.objects.filter(
        run=run, starts_at=fields["starts_at"], ends_at=fields["ends_at"]
    ).first()
    if existing is None:
        return
    if existing.title == fields.get("title") and existing.room == fields.get("room", ""):
        raise AlreadyCreated(existing)
    raise ValidationError(
        {"starts_at": _("The run already has a session at these times: %(title)s.")
         % {"title": existing}}
    )  # fmt: skip


def assign_instructor(*, actor: Any, run: CourseRun, user: Any, role: str) -> RunInstructor:
    """Add someone to those who teach a run (or change their role there): its coordinators do,
    not the trainer who leads a replicated run."""
    if not has_perm(actor, "courses.coordinate_run", run):
        raise PermissionDenied(_("You may not assign instructors to this run."))
    if role not in (RunInstructor.Role.LEAD, RunInstructor.Role.ASSISTANT):
        raise ValidationError({"role": _("Choose lead instructor or assistant.")})
    with transaction.atomic():
        _lock_run(run.pk)  # as enrol does: neither can slip past the other's check
        # Who teaches a run is not one of its learners (enrol refuses the other way round).
        if (
            Enrollment.objects.filter(run_id=run.pk, user_id=user.pk)
            .exclude(status__in=REOPENABLE)
            .exists()
        ):
            raise ValidationError(
                {
                    "user": _(
                        "%(name)s is enrolled in this run as a learner: withdraw the "
                        "enrolment before they teach it."
                    )
                    % {"name": user.full_name or user.email}
                }
            )
        assignment, _created = RunInstructor.objects.update_or_create(
            run=run, user=user, defaults={"role": role}
        )
    return assignment
