"""Writes of the assessments app: attempts (start, autosave, submit), grading, release, regrade,
practical evaluations, learners' extra time, and the question pools that make starting cheap.

Each public function is one transaction. The attempt row is locked (SELECT … FOR UPDATE) by
every write to it, so that an autosave and a submit, or two submits, never interleave: a second
submit finds the attempt submitted and returns it unchanged. xAPI statements are stored in the
same transaction with ids derived from the event (uuid5), so a repeated event stores nothing.

Late submissions: the server refuses answers received after the attempt's deadline plus a
grace of `ASSESSMENTS_GRACE_SECONDS` (default 30 s, for the latency of a slow line between the
learner pressing "Submit" at 00:00 and the request reaching us). The answers autosaved before
then are graded: the attempt is closed as "expired" and the learner is told so.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from assessments import grading, selectors
from assessments.models import (
    Answer,
    Assessment,
    AssessmentSection,
    Attempt,
    GradeChange,
    Question,
    RubricLevel,
    TimeAllowance,
)
from courses.models import CourseRun, Enrollment
from lms.accounts.permissions import has_perm
from lms.db import bulk_update
from lms.i18n import pick

STATEMENT_NAMESPACE = uuid.UUID("0b8f3a52-7d1e-5c4b-a9e6-3f2d1c0b9a87")
TAKING_STATUSES = (Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED)
HUNDRED = Decimal(100)


class AttemptRefused(ValidationError):
    """A start, save or submit that the rules refuse; the message is in the learner's language."""


class LateSubmission(AttemptRefused):
    """An answer that arrived after the deadline and its grace."""


class InvalidResponse(AttemptRefused):
    """Responses the attempt cannot take as given (a word for a number), by field `q-<id>`: the
    rest were saved, the attempt stays open so the learner can correct them."""


def grace() -> timedelta:
    """The latency allowance after a deadline (documented in the module docstring)."""
    return timedelta(seconds=getattr(settings, "ASSESSMENTS_GRACE_SECONDS", 30))


def statement_id(*parts: object) -> uuid.UUID:
    """The deterministic id of the statement for one event."""
    return uuid.uuid5(STATEMENT_NAMESPACE, ":".join(str(part) for part in parts))


def assessment_activity_id(assessment: Assessment) -> str:
    from lms.xapi.emit import activity_iri

    return activity_iri("assessment", assessment.lesson.key)


def question_activity_id(question_id: int) -> str:
    from lms.xapi.emit import activity_iri

    return activity_iri("question", question_id)


# --- Question pools -------------------------------------------------------------------------


def rebuild_pool(*, section: AssessmentSection) -> None:
    """Cache the section's eligible questions and their option ids on the section row."""
    questions = Question.objects.filter(category_id=section.category_id, is_active=True)
    if section.tag:
        questions = (
            questions.filter(tags__contains=[section.tag])
            if connection.vendor == "postgresql"
            else questions.filter(
                tags__icontains=f'"{section.tag}"'
            )  # SQLite has no JSON containment
        )
    pool = [
        [pk, _option_ids(kind, data)]
        for pk, kind, data in questions.order_by("pk").values_list("pk", "kind", "data")
    ]
    AssessmentSection.objects.filter(pk=section.pk).update(pool=pool)
    section.pool = pool


def rebuild_pools_for_category(*, category_id: int) -> None:
    """Rebuild every section drawing from a category (after a question of it changed)."""
    for section in AssessmentSection.objects.filter(category_id=category_id):
        rebuild_pool(section=section)


def _option_ids(kind: str, data: dict[str, Any]) -> list[str]:
    if kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        return [str(option["id"]) for option in data.get("options", [])]
    if kind == Question.Kind.MATCHING:
        return [str(choice["id"]) for choice in data.get("choices", [])]
    if kind == Question.Kind.ORDERING:
        return [str(item["id"]) for item in data.get("items", [])]
    return []


def draw_questions(
    *, assessment: Assessment, rng: random.Random
) -> tuple[list[dict[str, Any]], list[int]]:
    """A random draw from the sections' pools: [{"question", "options"}] and the question ids.

    Reads only the section rows (their pools), never the question bank.
    """
    drawn: list[dict[str, Any]] = []
    seen: set[int] = set()
    for section in assessment.sections.all():
        candidates = [entry for entry in section.pool if entry[0] not in seen]
        for question_id, options in rng.sample(candidates, min(section.count, len(candidates))):
            seen.add(question_id)
            order = list(options)
            if assessment.shuffle_options:
                rng.shuffle(order)
            drawn.append({"question": question_id, "options": order})
    if assessment.shuffle_questions:
        rng.shuffle(drawn)
    return drawn, [entry["question"] for entry in drawn]


# --- Attempts -------------------------------------------------------------------------------


def _format(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def check_can_start(*, assessment: Assessment, enrollment: Enrollment, now: datetime) -> None:
    """Raise AttemptRefused when the window, the enrolment or the attempt limit forbids a start."""
    if enrollment.status not in TAKING_STATUSES:
        raise AttemptRefused(_("You are not enrolled in this course run."))
    if assessment.kind == Assessment.Kind.PRACTICAL:
        raise AttemptRefused(
            _("Your instructor records this practical evaluation: there is nothing to answer.")
        )
    if assessment.lesson.version_id != enrollment.version_id:
        raise AttemptRefused(_("This assessment is not part of your course version."))
    if assessment.opens_at and now < assessment.opens_at:
        raise AttemptRefused(
            _("This assessment opens on %(when)s.") % {"when": _format(assessment.opens_at)}
        )
    if assessment.closes_at and now >= assessment.closes_at:
        raise AttemptRefused(
            _("This assessment closed on %(when)s.") % {"when": _format(assessment.closes_at)}
        )
    if assessment.max_attempts is not None:
        used = Attempt.objects.filter(assessment=assessment, enrollment=enrollment).count()
        if used >= assessment.max_attempts:
            raise _attempts_used(assessment.max_attempts)


def _attempts_used(max_attempts: int) -> AttemptRefused:
    return AttemptRefused(
        ngettext(
            "You have used the %(count)d attempt allowed.",
            "You have used all %(count)d attempts allowed.",
            max_attempts,
        )
        % {"count": max_attempts}
    )


def start_attempt(
    *, assessment: Assessment, enrollment: Enrollment, actor: Any, now: datetime | None = None
) -> Attempt:
    """Start an attempt, or resume the one in progress (with the time it has left).

    Two simultaneous starts make one attempt: the partial unique constraint allows one attempt
    in progress, and the loser of the race resumes the winner's.
    """
    now = now or timezone.now()
    if enrollment.user_id != actor.pk:
        raise PermissionDenied(_("You may only take assessments yourself."))
    current = (
        Attempt.objects.filter(
            assessment=assessment, enrollment=enrollment, status=Attempt.Status.IN_PROGRESS
        )
        .order_by("-number")
        .first()
    )
    if current is not None:
        if close_if_expired(attempt=current, now=now):
            current.refresh_from_db()
        else:
            return current
    check_can_start(assessment=assessment, enrollment=enrollment, now=now)
    rng = random.Random()  # noqa: S311 - a shuffle, not a secret
    drawn, question_ids = draw_questions(assessment=assessment, rng=rng)
    if not drawn:
        # 0 points out of 0 would be released as 0 %, failed, and use up an attempt
        raise AttemptRefused(_("This assessment has no questions yet."))
    points = dict(Question.objects.filter(pk__in=question_ids).values_list("pk", "points"))
    manual = set(
        Question.objects.filter(pk__in=question_ids, kind__in=Question.MANUAL_KINDS).values_list(
            "pk", flat=True
        )
    )
    try:
        with transaction.atomic():
            number, extra_pct, used = _next_number_and_extra_pct(assessment, enrollment)
            if assessment.max_attempts is not None and used >= assessment.max_attempts:
                # Another request started one since check_can_start counted: resume it while
                # it is in progress; submitted already, it was the last one allowed.
                current = Attempt.objects.filter(
                    assessment=assessment, enrollment=enrollment, status=Attempt.Status.IN_PROGRESS
                ).first()
                if current is None:
                    raise _attempts_used(assessment.max_attempts)
                return current
            attempt = Attempt.objects.create(
                assessment=assessment,
                enrollment=enrollment,
                run_id=enrollment.run_id,
                user_id=enrollment.user_id,
                number=number,
                started_at=now,
                deadline=attempt_deadline(
                    assessment=assessment, started_at=now, extra_pct=extra_pct
                ),
                draw=drawn,
                max_score=sum((points[pk] for pk in question_ids), Decimal(0)),
            )
            Answer.objects.bulk_create(
                Answer(
                    attempt=attempt,
                    question_id=pk,
                    position=position,
                    max_score=points[pk],
                    is_manual=pk in manual,
                )
                for position, pk in enumerate(question_ids, start=1)
            )
    except IntegrityError:
        # Another request started one first: resume it while it is in progress; submitted
        # already, start again from the top (the next attempt, or the refusal of the limit).
        current = Attempt.objects.filter(
            assessment=assessment, enrollment=enrollment, status=Attempt.Status.IN_PROGRESS
        ).first()
        if current is None:
            return start_attempt(assessment=assessment, enrollment=enrollment, actor=actor, now=now)
        return current
    return attempt


def _next_number_and_extra_pct(
    assessment: Assessment, enrollment: Enrollment
) -> tuple[int, int, int]:
    """The number of the enrolment's next attempt at the assessment, the extra time (%) its
    learner is allowed (0 without) and the attempts it has made, read together: one query, as
    the number alone was."""
    mine = Attempt.objects.filter(assessment=assessment, enrollment=OuterRef("pk"))
    top, used, extra_pct = (
        Enrollment.objects.filter(pk=enrollment.pk)
        .annotate(
            top=Subquery(mine.order_by("-number").values("number")[:1]),
            used=Subquery(
                mine.order_by().values("enrollment").annotate(count=Count("pk")).values("count")
            ),
        )
        .values_list("top", "used", "time_allowance__extra_pct")
        .get()
    )
    return (top or 0) + 1, extra_pct or 0, used or 0


def attempt_deadline(
    *, assessment: Assessment, started_at: datetime, extra_pct: int = 0
) -> datetime | None:
    """When an attempt started at `started_at` runs out of time: after the time limit, lengthened
    by the learner's extra time, but never past the closing time (the window is the
    institution's, extra time or not); at the closing time when there is no limit; None when
    neither."""
    deadline = assessment.closes_at
    if assessment.time_limit_minutes:
        minutes = selectors.extended_minutes(
            limit_minutes=assessment.time_limit_minutes, extra_pct=extra_pct
        )
        deadline = started_at + timedelta(minutes=minutes)
        if assessment.closes_at and deadline > assessment.closes_at:
            deadline = assessment.closes_at
    return deadline


def time_left(attempt: Attempt, now: datetime | None = None) -> int | None:
    """Seconds left before the deadline (None when there is no limit)."""
    if attempt.deadline is None:
        return None
    return max(0, int((attempt.deadline - (now or timezone.now())).total_seconds()))


def _lock(attempt: Attempt) -> Attempt:
    return (
        Attempt.objects.select_for_update(of=("self",))
        .select_related("assessment__lesson", "enrollment", "user")
        .get(pk=attempt.pk)
    )


def _store_responses(
    attempt: Attempt,
    responses: dict[int, Any],
    files: dict[int, UploadedFile] | None,
    now: datetime,
    strict: bool = False,
) -> dict[str, str]:
    """Store the responses as given. `strict`: returns the errors ({field: message}) of those
    that are not valid answers, while the attempt's time lasts (once it is up, the learner can
    no longer correct them: they are graded as they are)."""
    drawn = {entry["question"] for entry in attempt.draw}
    for question_id in set(responses) | set(files or {}):
        if question_id not in drawn:
            raise AttemptRefused(_("That question is not part of your attempt."))
    answers = {
        answer.question_id: answer
        for answer in Answer.objects.filter(
            attempt=attempt, question_id__in=set(responses) | set(files or {})
        ).select_related("question")
    }
    errors: dict[str, str] = {}
    if strict and (attempt.deadline is None or now <= attempt.deadline):
        errors = _invalid_numbers(answers, responses)
    changed = []
    for question_id, response in responses.items():
        answer = answers[question_id]
        answer.response = response
        answer.saved_at = now
        changed.append(answer)
    if changed:
        bulk_update(changed, ["response", "saved_at"])
    for question_id, upload in (files or {}).items():
        answer = answers[question_id]
        answer.file.save(upload.name or "upload", upload, save=False)
        answer.saved_at = now
        answer.save(update_fields=["file", "saved_at"])
    return errors


def _invalid_numbers(answers: dict[int, Answer], responses: dict[int, Any]) -> dict[str, str]:
    """{field: error} of the answers to numeric questions that are not numbers ("trinta"),
    which grading would count as wrong without the learner noticing."""
    errors = {}
    for question_id, response in responses.items():
        answer = answers[question_id]
        if (
            answer.question.kind == Question.Kind.NUMERIC
            and str(response).strip()
            and grading.as_number(response) is None
        ):
            errors[f"q-{question_id}"] = _(
                "Question %(number)s: answer with a number, for example %(example)s."
            ) % {"number": answer.position, "example": number_format(Decimal("3.5"))}
    return errors


def save_answers(
    *,
    attempt: Attempt,
    actor: Any,
    responses: dict[int, Any],
    files: dict[int, UploadedFile] | None = None,
    now: datetime | None = None,
    strict: bool = False,
) -> Attempt:
    """Autosave: store responses of an attempt in progress (refused after submit or time out).
    `strict` (the attempt page): InvalidResponse, all stored, when some are not valid answers."""
    now = now or timezone.now()
    expired = False
    errors: dict[str, str] = {}
    with transaction.atomic():
        attempt = _lock(attempt)
        _check_owner(attempt, actor)
        if attempt.status != Attempt.Status.IN_PROGRESS:
            raise AttemptRefused(_("This attempt has been submitted and can no longer change."))
        _check_enrolled(attempt)
        if attempt.deadline and now > attempt.deadline + grace():
            _finalize(attempt, now=now, expired=True)
            expired = True
        else:
            errors = _store_responses(attempt, responses, files, now, strict)
    if expired:
        raise _late(attempt)
    if errors:
        raise InvalidResponse(errors)
    return attempt


def _late(attempt: Attempt) -> LateSubmission:
    return LateSubmission(
        _(
            "Time ran out at %(when)s. Answers received after that are not accepted; the answers "
            "saved before then have been submitted."
        )
        % {"when": _format(attempt.deadline or timezone.now())}
    )


def _check_owner(attempt: Attempt, actor: Any) -> None:
    if attempt.user_id != actor.pk:
        raise PermissionDenied(_("This is not your attempt."))


def _check_enrolled(attempt: Attempt) -> None:
    """Refuse the answers of a learner no longer enrolled (withdrawn in the middle of an
    attempt), as a start is refused (check_can_start)."""
    if attempt.enrollment.status not in TAKING_STATUSES:
        raise AttemptRefused(_("You are not enrolled in this course run."))


@dataclass(frozen=True)
class Submission:
    attempt: Attempt
    created: bool  # False when the attempt had already been submitted


def submit_attempt(
    *,
    attempt: Attempt,
    actor: Any,
    responses: dict[int, Any] | None = None,
    files: dict[int, UploadedFile] | None = None,
    now: datetime | None = None,
    strict: bool = False,
) -> Submission:
    """Submit an attempt with its last responses and grade what can be graded automatically.

    Idempotent: submitting an attempt already submitted returns it unchanged (created=False),
    also when two submits race (the second waits for the row lock, then sees it submitted).
    A submit after the deadline and grace stores nothing new, closes the attempt with what was
    autosaved and raises LateSubmission. `strict` (the attempt page): a response that is not a
    valid answer (a word for a number) is stored but not submitted, InvalidResponse names it
    and the attempt stays open; otherwise it is graded as it is (wrong).
    """
    now = now or timezone.now()
    late = False
    errors: dict[str, str] = {}
    with transaction.atomic():
        attempt = _lock(attempt)
        _check_owner(attempt, actor)
        if attempt.status != Attempt.Status.IN_PROGRESS:
            if attempt.expired:
                late = True
            else:
                return Submission(attempt=attempt, created=False)
        else:
            _check_enrolled(attempt)
            if attempt.deadline and now > attempt.deadline + grace():
                _finalize(attempt, now=now, expired=True)
                late = True
            else:
                errors = _store_responses(attempt, responses or {}, files, now, strict)
                if not errors:
                    _finalize(attempt, now=now, expired=False)
    if late:
        raise _late(attempt)
    if errors:
        raise InvalidResponse(errors)
    return Submission(attempt=attempt, created=True)


def close_if_expired(*, attempt: Attempt, now: datetime | None = None) -> bool:
    """Close an attempt in progress whose time (and grace) ran out; True if it was closed."""
    now = now or timezone.now()
    if (
        attempt.status != Attempt.Status.IN_PROGRESS
        or attempt.deadline is None
        or now <= attempt.deadline + grace()
    ):
        return False
    with transaction.atomic():
        locked = _lock(attempt)
        if locked.status != Attempt.Status.IN_PROGRESS:
            return False
        _finalize(locked, now=now, expired=True)
    return True


def _finalize(attempt: Attempt, *, now: datetime, expired: bool) -> None:
    """Grade the objective answers of a locked attempt and close it."""
    answers = list(Answer.objects.filter(attempt=attempt).select_related("question"))
    changed = []
    for answer in answers:
        if not answer.is_manual:
            question = answer.question
            answer.score = grading.points(
                grading.fraction(question.kind, question.key, answer.response), answer.max_score
            )
            answer.graded_at = now
            changed.append(answer)
    if changed:
        bulk_update(changed, ["score", "graded_at"])
    attempt.submitted_at = now
    attempt.expired = expired
    attempt.needs_grading = sum(1 for answer in answers if answer.score is None)
    _total(attempt, answers)
    attempt.status = Attempt.Status.SUBMITTED if attempt.needs_grading else Attempt.Status.GRADED
    attempt.save(
        update_fields=[
            "submitted_at",
            "expired",
            "needs_grading",
            "score",
            "score_pct",
            "passed",
            "status",
        ]
    )
    # The results' statements (answered, scored, passed/failed) go with the release: now when
    # the results are released at once, else when the instructor releases them.
    if attempt.status == Attempt.Status.GRADED and attempt.assessment.auto_release:
        _release(attempt, now=now, answers=answers)


def _total(attempt: Attempt, answers: list[Answer]) -> None:
    attempt.score = sum((answer.score or Decimal(0) for answer in answers), Decimal(0))
    if attempt.max_score:
        attempt.score_pct = (attempt.score * HUNDRED / attempt.max_score).quantize(
            grading.TWO_PLACES, ROUND_HALF_UP
        )
    else:
        attempt.score_pct = Decimal(0)
    attempt.passed = (
        None if attempt.needs_grading else attempt.score_pct >= attempt.assessment.passing_score_pct
    )


def _answer_events(attempt: Attempt, answers: list[Answer]) -> list[tuple[Any, dict[str, Any]]]:
    """One `answered` statement per question, with its result, timed when the learner submitted
    (emit_many's events). Stored with the attempt's first release, not at submit: the learner
    reads their own statements (/xapi/statements), which must not show a result before its
    release."""
    registration = attempt.enrollment.registration if attempt.enrollment_id else None
    parent = assessment_activity_id(attempt.assessment)
    events: list[tuple[Any, dict[str, Any]]] = []
    for answer in answers:
        result: dict[str, Any] = {}
        if answer.response is not None:
            result["response"] = str(answer.response)[:500]
        if answer.score is not None:
            result["score_raw"] = float(answer.score)
            result["score_min"] = 0.0
            result["score_max"] = float(answer.max_score)
            result["success"] = answer.score >= answer.max_score
        events.append(
            (
                attempt.user,
                {
                    "verb": "answered",
                    "activity_id": question_activity_id(answer.question_id),
                    "activity_type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                    "registration": registration,
                    "result": result or None,
                    "parent_activity_id": parent,
                    "statement_id": statement_id("answered", attempt.pk, answer.question_id),
                    "timestamp": attempt.submitted_at,
                },
            )
        )
    return events


def _release(
    attempt: Attempt, *, now: datetime, revision: int = 0, answers: list[Answer] | None = None
) -> None:
    """Show the grade to the learner, emit scored and passed/failed, feed course completion."""
    _release_many(
        [attempt],
        now=now,
        revisions={attempt.pk: revision},
        answers=None if answers is None else {attempt.pk: answers},
    )


def _release_many(
    attempts: list[Attempt],
    *,
    now: datetime,
    revisions: dict[int, int] | None = None,
    answers: dict[int, list[Answer]] | None = None,
) -> None:
    """_release for locked attempts, in a fixed number of queries whatever their number: the
    attempts updated in one, their statements stored in one, the results that count read in
    one and recorded in the course's progress together (record_lesson_results). `revisions`
    numbers a re-release's statements (by attempt; none for a first release).

    A first release also stores the attempt's `answered` statements (_answer_events; not for a
    practical evaluation, which its officers do not answer), their answers read in one query
    unless given in `answers` (by attempt id)."""
    from lms.xapi.emit import emit_many

    revisions = revisions or {}
    for attempt in attempts:
        attempt.status = Attempt.Status.RELEASED
        attempt.released_at = attempt.released_at or now
    bulk_update(attempts, ["status", "released_at"], batch_size=1000)
    first = [
        attempt
        for attempt in attempts
        if not revisions.get(attempt.pk, 0) and attempt.assessment.kind != Assessment.Kind.PRACTICAL
    ]
    if first and answers is None:
        answers = {}
        for answer in Answer.objects.filter(attempt__in=[a.pk for a in first]).order_by(
            "attempt_id", "position"
        ):
            answers.setdefault(answer.attempt_id, []).append(answer)
    events = [
        event
        for attempt in first
        for event in _answer_events(attempt, (answers or {}).get(attempt.pk, []))
    ]
    events += [
        (attempt.user, event)
        for attempt in attempts
        for event in _result_events(attempt, revisions.get(attempt.pk, 0))
    ]
    emit_many(events)
    _record_results(attempts)


def _result_events(attempt: Attempt, revision: int) -> list[dict[str, Any]]:
    """The `scored` and `passed` or `failed` statements of a released attempt."""
    assessment = attempt.assessment
    result = {
        "score_scaled": float(attempt.score_pct or 0) / 100,
        "score_raw": float(attempt.score or 0),
        "score_min": 0.0,
        "score_max": float(attempt.max_score),
        "success": bool(attempt.passed),
        "completion": True,
    }
    return [
        {
            "verb": verb,
            "activity_id": assessment_activity_id(assessment),
            "activity_name": assessment.lesson.title or None,
            "activity_type": "http://adlnet.gov/expapi/activities/assessment",
            "registration": attempt.enrollment.registration,
            "result": result,
            "statement_id": statement_id(verb, attempt.pk, revision),
        }
        for verb in ("scored", "passed" if attempt.passed else "failed")
    ]


def counted_result(*, assessment: Assessment, enrollment: Enrollment) -> Decimal | None:
    """The score (%) that counts, by the assessment's method, over released attempts."""
    scores = Attempt.objects.filter(
        assessment=assessment, enrollment=enrollment, status=Attempt.Status.RELEASED
    ).order_by("number")
    return _counted(assessment, list(scores.values_list("score_pct", flat=True)))


def _counted(assessment: Assessment, scores: list[Decimal | None]) -> Decimal | None:
    """The score that counts of released attempts' scores, in the order taken."""
    values = [score for score in scores if score is not None]
    if not values:
        return None
    if assessment.grading_method == Assessment.GradingMethod.LAST:
        return values[-1]
    if assessment.grading_method == Assessment.GradingMethod.AVERAGE:
        return (sum(values, Decimal(0)) / len(values)).quantize(grading.TWO_PLACES, ROUND_HALF_UP)
    return max(values)


def _record_results(attempts: list[Attempt]) -> None:
    """The results that count of the attempts' learners, in their course progress: the
    released attempts' scores read in one query, recorded together."""
    from courses.services import LessonResult, record_lesson_results

    pairs = {(attempt.assessment_id, attempt.enrollment_id): attempt for attempt in attempts}
    released: dict[tuple[int, int], list[Decimal | None]] = {}
    for assessment_id, enrollment_id, score in (
        Attempt.objects.filter(
            assessment_id__in={key[0] for key in pairs},
            enrollment_id__in={key[1] for key in pairs},
            status=Attempt.Status.RELEASED,
        )
        .order_by("number")
        .values_list("assessment_id", "enrollment_id", "score_pct")
    ):
        released.setdefault((assessment_id, enrollment_id), []).append(score)
    results = []
    for key, attempt in pairs.items():
        assessment = attempt.assessment
        score = _counted(assessment, released.get(key, []))
        if score is None:
            continue
        results.append(
            LessonResult(
                enrollment=attempt.enrollment,
                lesson=assessment.lesson,
                completed=True,
                passed=score >= assessment.passing_score_pct,
                score_pct=score,
                actor=attempt.user,
            )
        )
    record_lesson_results(results)


# --- Grading by instructors -----------------------------------------------------------------


def _check_grader(attempt: Attempt, actor: Any) -> None:
    if not has_perm(actor, "courses.teach_run", attempt.run):
        raise PermissionDenied(_("You may only grade attempts in the runs you teach."))


def rubric_score(*, answer: Answer, levels: dict[int, int]) -> Decimal:
    """Points from a rubric: one level per criterion, the sum's place between the rubric's
    lowest and highest sums scaled to the question's points."""
    rubric = answer.question.rubric
    if rubric is None:
        raise ValidationError({"rubric": _("This question has no rubric.")})
    criteria = list(rubric.criteria.values_list("pk", flat=True))
    missing = [pk for pk in criteria if pk not in levels]
    if missing:
        raise ValidationError({"rubric": _("Choose a level for every criterion.")})
    chosen = RubricLevel.objects.filter(
        pk__in=[levels[pk] for pk in criteria], criterion_id__in=criteria
    )
    by_criterion = {level.criterion_id: level for level in chosen}
    if len(by_criterion) != len(criteria) or any(
        by_criterion[pk].pk != levels[pk] for pk in criteria
    ):
        raise ValidationError({"rubric": _("A chosen level does not belong to its criterion.")})
    total = sum((level.points for level in chosen), Decimal(0))
    bounds = (
        RubricLevel.objects.filter(criterion_id__in=criteria)
        .values("criterion_id")
        .annotate(low=Min("points"), high=Max("points"))
    )
    low = sum((row["low"] for row in bounds), Decimal(0))
    high = sum((row["high"] for row in bounds), Decimal(0))
    if high <= low:
        return Decimal(0)
    # The rubric's range scaled to the question's points, as Moodle's rubrics grade: the lowest
    # levels earn nothing, the highest all the points, "Partial" on both of two criteria of
    # 0/1/2 half of them (adding the levels and capping the sum gave full marks for it).
    return ((total - low) / (high - low) * answer.max_score).quantize(
        grading.TWO_PLACES, ROUND_HALF_UP
    )


def checklist_score(*, answer: Answer, ticked: set[str]) -> Decimal:
    """Points of a practical evaluation: the sum of the checklist items observed."""
    items = answer.question.data.get("checklist", [])
    total = sum(
        (_item_points(item) for item in items if str(item["id"]) in ticked),
        Decimal(0),
    )
    return min(total, answer.max_score)


def _item_points(item: dict[str, Any]) -> Decimal:
    """The points of a checklist item as authored in the question's data (1 unless given);
    refused when they are not a finite number ("NaN" would not even compare with the maximum)."""
    try:
        points = Decimal(str(item.get("points", 1)).strip().replace(",", "."))
    except InvalidOperation:
        points = None
    if points is None or not points.is_finite():
        raise ValidationError(
            {"checklist": _("A checklist item of this question has points that are not a number.")}
        )
    return points


GRADE_FIELDS = ["score", "rubric_levels", "comment", "graded_by", "graded_at"]
TOTAL_FIELDS = ["needs_grading", "score", "score_pct", "passed", "status"]


def _graded(
    answer: Answer,
    attempt: Attempt,
    *,
    actor: Any,
    score: Decimal,
    levels: dict[str, Any],
    comment: str,
    reason: str,
    now: datetime,
) -> GradeChange:
    """Give a locked answer of its locked attempt a grade, in memory, and return the history
    entry to store. The score must lie within the answer's points; a grade already given
    (by an instructor, or an automatic score) changes only with a reason; a first grade lowers
    the attempt's count of answers waiting for one."""
    if not score.is_finite() or score < 0 or score > answer.max_score:
        raise ValidationError(
            {
                "score": _("The score must be between 0 and %(max)s.")
                % {"max": number_format(answer.max_score, decimal_pos=2)}
            }
        )
    # to the cents the column keeps ("1e-999999" overflowed the database's numeric: a 500)
    score = score.quantize(grading.TWO_PLACES, ROUND_HALF_UP)
    is_regrade = answer.graded_by_id is not None or (
        answer.score is not None and not answer.is_manual
    )
    if is_regrade and not reason.strip():
        raise ValidationError({"reason": _("Say why the grade changes.")})
    change = GradeChange(
        answer=answer,
        attempt=attempt,
        changed_by=actor,
        changed_at=now,
        old_score=answer.score,
        new_score=score,
        reason=reason.strip(),
        is_regrade=is_regrade,
    )
    if answer.score is None:
        attempt.needs_grading = max(0, attempt.needs_grading - 1)
    answer.score = score
    answer.rubric_levels = levels
    answer.comment = comment
    answer.graded_by = actor
    answer.graded_at = now
    return change


def _retotal(attempt: Attempt, answers: list[Answer]) -> None:
    """The attempt's total from its answers; graded once none waits for a grade."""
    _total(attempt, answers)
    if attempt.status == Attempt.Status.SUBMITTED and not attempt.needs_grading:
        attempt.status = Attempt.Status.GRADED


def grade_answer(
    *,
    answer: Answer,
    actor: Any,
    score: Decimal | None = None,
    rubric_levels: dict[int, int] | None = None,
    checklist: set[str] | None = None,
    comment: str = "",
    reason: str = "",
    now: datetime | None = None,
) -> Answer:
    """Grade (or regrade) one answer by points, a rubric or a checklist, keeping the history.

    A grade already given changes only with a reason (a regrade), and every change is recorded
    with who, when, the old and new score and why. Regrading a released attempt re-releases it:
    the learner's result and the course completion are re-evaluated.
    """
    now = now or timezone.now()
    with transaction.atomic():
        attempt = _lock(answer.attempt)
        _check_grader(attempt, actor)
        if attempt.status == Attempt.Status.IN_PROGRESS:
            raise ValidationError(_("This attempt has not been submitted yet."))
        answer = (
            Answer.objects.select_for_update(of=("self",))
            .select_related("question__rubric")
            .get(pk=answer.pk)
        )
        stored_levels: dict[str, Any] = {}
        if rubric_levels is not None:
            score = rubric_score(answer=answer, levels=rubric_levels)
            stored_levels = {str(k): v for k, v in rubric_levels.items()}
        elif checklist is not None:
            score = checklist_score(answer=answer, ticked=checklist)
            stored_levels = {item: True for item in sorted(checklist)}
        if score is None:
            raise ValidationError({"score": _("Give a score.")})
        change = _graded(
            answer,
            attempt,
            actor=actor,
            score=score,
            levels=stored_levels,
            comment=comment,
            reason=reason,
            now=now,
        )
        answer.save(update_fields=GRADE_FIELDS)
        change.save()
        _retotal(attempt, list(Answer.objects.filter(attempt=attempt)))
        attempt.save(update_fields=TOTAL_FIELDS)
        if attempt.status == Attempt.Status.RELEASED:
            revision = GradeChange.objects.filter(attempt=attempt).count()
            _release(attempt, now=now, revision=revision)
    return answer


def release_grades(
    *, assessment: Assessment, run: CourseRun, actor: Any, now: datetime | None = None
) -> int:
    """Release every fully graded attempt of an assessment in a run; returns how many. A fixed
    number of queries whatever their number (_release_many)."""
    now = now or timezone.now()
    if not has_perm(actor, "courses.teach_run", run):
        raise PermissionDenied(_("You may only release grades in the runs you teach."))
    with transaction.atomic():
        attempts = list(
            Attempt.objects.select_for_update(of=("self",))
            .filter(assessment=assessment, run=run, status=Attempt.Status.GRADED)
            .select_related("assessment__lesson", "enrollment", "user")
            .order_by("pk")
        )
        if attempts:
            _release_many(attempts, now=now)
            _notify_released(attempts, run)
    return len(attempts)


def _notify_released(attempts: list[Attempt], run: CourseRun) -> None:
    """Tell each learner their grade is released, linking to the review of their attempt: one
    notify() (one insert, emails and pushes once committed) per title the learners read, so a
    run's release costs one to a few (one per language) whatever its size."""
    from lms.accounts.notifications import notify

    course = run.course
    learners: dict[tuple[str, str], dict[int, Any]] = {}
    for attempt in attempts:
        language = attempt.user.language
        titles = (
            str(pick(attempt.assessment.lesson.title, language, course.default_language)),
            course.localized_title(language),
        )
        learners.setdefault(titles, {})[attempt.user_id] = attempt.user  # one notice a learner
    url = reverse("assessments:released", args=[attempts[0].assessment_id])
    for (assessment, course_title), recipients in learners.items():
        notify(
            recipients=list(recipients.values()),
            subject=gettext_lazy("Grade released: %(assessment)s"),
            body=gettext_lazy(
                "Your grade for %(assessment)s (%(course)s) has been released. Open it to see "
                "your result and review your answers."
            ),
            params={"assessment": assessment, "course": course_title},
            url=url,
        )


def record_practical(
    *,
    assessment: Assessment,
    run: CourseRun,
    actor: Any,
    marks: dict[int, dict[int, set[str]]],
    comments: dict[int, str] | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> int:
    """Record a practical evaluation for many officers of a run at once.

    `marks` is {enrollment id: {question id: checklist item ids observed}}. Each officer gets one
    attempt (created on the first recording, submitted by the instructor); later recordings of
    the same officer are regrades, with `reason` or "recorded again" as theirs. All or nothing,
    in a fixed number of queries whatever the number of officers: the attempts locked in one
    (the missing ones created in two more), the answers read in one, written in one, their
    history in one, the attempts' totals in one; released attempts are released again
    together. Returns the number of officers recorded.
    """
    now = now or timezone.now()
    if not has_perm(actor, "courses.teach_run", run):
        raise PermissionDenied(_("You may only evaluate officers in the runs you teach."))
    if assessment.lesson.version_id != run.version_id:
        raise ValidationError(_("This evaluation is not part of the run's course version."))
    if assessment.kind != Assessment.Kind.PRACTICAL:
        raise ValidationError(
            _(
                "Only a practical evaluation is recorded by its instructor; officers answer this one."
            )
        )
    enrollments = {
        enrollment.pk: enrollment
        for enrollment in Enrollment.objects.filter(
            run=run, pk__in=list(marks), status__in=TAKING_STATUSES
        ).select_related("user")
    }
    if any(enrollment_id not in enrollments for enrollment_id in marks):
        raise ValidationError(_("An officer listed is not enrolled in this run."))
    question_ids = [entry[0] for section in assessment.sections.all() for entry in section.pool]
    questions = {
        q.pk: q for q in Question.objects.filter(pk__in=question_ids, kind=Question.Kind.PRACTICAL)
    }
    default_reason = _("Practical evaluation recorded again")
    with transaction.atomic():
        attempts = _practical_attempts(assessment, run, enrollments, questions, now=now)
        answers: dict[int, list[Answer]] = {}
        for stored in (
            Answer.objects.select_for_update(of=("self",))
            .filter(attempt__in=[attempt.pk for attempt in attempts.values()])
            .select_related("question")
        ):
            answers.setdefault(stored.attempt_id, []).append(stored)
        written: list[Answer] = []
        history: list[GradeChange] = []
        touched: dict[int, Attempt] = {}
        for enrollment_id, per_question in marks.items():
            attempt = attempts[enrollment_id]
            if attempt.status == Attempt.Status.IN_PROGRESS:
                raise ValidationError(_("This attempt has not been submitted yet."))
            by_question = {stored.question_id: stored for stored in answers.get(attempt.pk, [])}
            for question_id, ticked in per_question.items():
                answer = by_question.get(question_id)
                if answer is None:
                    raise ValidationError(_("That question is not part of this evaluation."))
                levels = {item: True for item in sorted(ticked)}
                comment = (comments or {}).get(enrollment_id, answer.comment)
                if answer.score is not None and answer.rubric_levels == levels:
                    # The same marks: no history entry, no regrade; a new comment is kept.
                    if comment != answer.comment:
                        answer.comment = comment
                        written.append(answer)
                    continue
                again = answer.score is not None
                history.append(
                    _graded(
                        answer,
                        attempt,
                        actor=actor,
                        score=checklist_score(answer=answer, ticked=ticked),
                        levels=levels,
                        comment=comment,
                        reason=reason.strip() or (default_reason if again else ""),
                        now=now,
                    )
                )
                written.append(answer)
                touched[attempt.pk] = attempt
        bulk_update(written, GRADE_FIELDS, batch_size=1000)
        GradeChange.objects.bulk_create(history, batch_size=1000)
        for attempt in touched.values():
            _retotal(attempt, answers[attempt.pk])
        bulk_update(list(touched.values()), TOTAL_FIELDS, batch_size=1000)
        released = [a for a in touched.values() if a.status == Attempt.Status.RELEASED]
        if released:
            revisions = dict(
                GradeChange.objects.filter(attempt__in=[attempt.pk for attempt in released])
                .values("attempt")
                .annotate(changes=Count("pk"))
                .values_list("attempt", "changes")
            )
            _release_many(released, now=now, revisions=revisions)
    return len(marks)


def _practical_attempts(
    assessment: Assessment,
    run: CourseRun,
    enrollments: dict[int, Enrollment],
    questions: dict[int, Question],
    *,
    now: datetime,
) -> dict[int, Attempt]:
    """The latest attempt of each enrollment at a practical evaluation, locked, by enrollment
    id: those missing created (submitted by the instructor, one answer per question, all to
    grade). Two instructors recording the same new officer at once make one attempt: the
    second's inserts wait for the first's and are skipped, and the attempts are read again."""

    def latest() -> dict[int, Attempt]:
        found: dict[int, Attempt] = {}
        for attempt in (
            Attempt.objects.select_for_update(of=("self",))
            .filter(assessment=assessment, enrollment_id__in=list(enrollments))
            .order_by("enrollment_id", "-number")
        ):
            found.setdefault(attempt.enrollment_id, attempt)
        return found

    attempts = latest()
    missing = [enrollment for pk, enrollment in enrollments.items() if pk not in attempts]
    if missing:
        Attempt.objects.bulk_create(
            [
                Attempt(
                    assessment=assessment,
                    enrollment=enrollment,
                    run=run,
                    user=enrollment.user,
                    number=1,
                    started_at=now,
                    submitted_at=now,
                    status=Attempt.Status.SUBMITTED,
                    draw=[{"question": pk, "options": []} for pk in questions],
                    max_score=sum((q.points for q in questions.values()), Decimal(0)),
                    needs_grading=len(questions),
                )
                for enrollment in missing
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        attempts = latest()
        created = [attempts[enrollment.pk] for enrollment in missing]
        Answer.objects.bulk_create(
            (
                Answer(
                    attempt=attempt,
                    question_id=pk,
                    position=position,
                    max_score=question.points,
                    is_manual=True,
                )
                for attempt in created
                for position, (pk, question) in enumerate(questions.items(), start=1)
            ),
            batch_size=1000,
            ignore_conflicts=True,
        )
    for pk, attempt in attempts.items():
        attempt.assessment = assessment
        attempt.enrollment = enrollments[pk]
        attempt.user = enrollments[pk].user
    return attempts


# --- Extra time -----------------------------------------------------------------------------


def set_time_allowance(
    *,
    run: CourseRun,
    enrollment: Enrollment,
    extra_pct: int | None,
    actor: Any,
    now: datetime | None = None,
) -> TimeAllowance | None:
    """Give a learner of `run` extra time on every timed assessment (`extra_pct`, one of
    TimeAllowance.ExtraTime), or take it away (None). Returns the allowance, None once removed.

    The learner's timed attempts in progress are extended at once to what they are now allowed
    (from their start, never past the closing time), but never shortened: an attempt under way
    keeps the time it was given, also when the extra time is lowered or removed. One whose time
    has already run out (with its grace) is not reopened: it is closed on its next request, as
    any other. No reason is asked or stored (a disability is sensitive data).
    """
    now = now or timezone.now()
    if not has_perm(actor, "courses.teach_run", run):
        raise PermissionDenied(_("You may only give extra time in the runs you teach."))
    if enrollment.run_id != run.pk:
        raise ValidationError({"enrollment": _("This learner is not enrolled in this course run.")})
    if extra_pct is not None and extra_pct not in TimeAllowance.ExtraTime.values:
        raise ValidationError({"extra_pct": _("Choose one of the extra times offered.")})
    with transaction.atomic():
        if extra_pct is None:
            TimeAllowance.objects.filter(enrollment=enrollment).delete()
            return None
        allowance, _created = TimeAllowance.objects.update_or_create(
            enrollment=enrollment, defaults={"extra_pct": extra_pct, "granted_by": actor}
        )
        _extend_attempts_in_progress(enrollment, extra_pct, now=now)
    return allowance


def _extend_attempts_in_progress(enrollment: Enrollment, extra_pct: int, *, now: datetime) -> None:
    """Lengthen the enrolment's timed attempts in progress to the deadline `extra_pct` gives
    them, where that is later than theirs; locked, as every write to an attempt is. (A start
    that commits while this runs keeps the deadline it read: saving the allowance again
    extends it.)"""
    attempts = list(
        Attempt.objects.select_for_update(of=("self",))
        .filter(
            enrollment=enrollment,
            status=Attempt.Status.IN_PROGRESS,
            deadline__isnull=False,
            assessment__time_limit_minutes__gt=0,
        )
        .select_related("assessment")
    )
    extended = []
    for attempt in attempts:
        if attempt.deadline is None or now > attempt.deadline + grace():
            continue
        deadline = attempt_deadline(
            assessment=attempt.assessment, started_at=attempt.started_at, extra_pct=extra_pct
        )
        if deadline is not None and deadline > attempt.deadline:
            attempt.deadline = deadline
            extended.append(attempt)
    bulk_update(extended, ["deadline"])
