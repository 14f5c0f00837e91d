"""Reads of the assessments app: what a learner may see, the grading queue, item statistics, the
grades of a run and the extra time its learners are allowed."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from assessments.models import Answer, Assessment, Attempt, Question, TimeAllowance
from courses.models import CourseRun, Enrollment
from courses.selectors import teaching_runs


def assessment_for_lesson(*, lesson_id: int) -> Assessment | None:
    return Assessment.objects.filter(lesson_id=lesson_id).first()


def learner_attempts(*, assessment: Assessment, enrollment: Enrollment) -> QuerySet[Attempt]:
    return Attempt.objects.filter(assessment=assessment, enrollment=enrollment).order_by("number")


def latest_released_attempt(*, assessment_id: int, user: Any) -> Attempt | None:
    """The person's last released attempt at an assessment (where a grade notice leads)."""
    return (
        Attempt.objects.filter(
            assessment_id=assessment_id, user_id=user.pk, status=Attempt.Status.RELEASED
        )
        .order_by("-released_at", "-number")
        .first()
    )


def attempt_questions(*, attempt: Attempt) -> list[tuple[Answer, Question, list[dict[str, Any]]]]:
    """The attempt's answers in the drawn order, each with its question and its options in the
    attempt's shuffled order (two queries, whatever the number of questions)."""
    answers = list(
        Answer.objects.filter(attempt=attempt).select_related("question").order_by("position")
    )
    orders = {entry["question"]: entry["options"] for entry in attempt.draw}
    rows = []
    for answer in answers:
        question = answer.question
        rows.append((answer, question, _ordered_options(question, orders.get(question.pk, []))))
    return rows


def _ordered_options(question: Question, order: list[str]) -> list[dict[str, Any]]:
    data = question.data
    if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        options = {str(option["id"]): option for option in data.get("options", [])}
    elif question.kind == Question.Kind.MATCHING:
        options = {str(choice["id"]): choice for choice in data.get("choices", [])}
    elif question.kind == Question.Kind.ORDERING:
        options = {str(item["id"]): item for item in data.get("items", [])}
    else:
        return []
    return [options[option_id] for option_id in order if option_id in options]


@dataclass(frozen=True)
class ReviewRights:
    """What a learner may see of a submitted attempt, by the assessment's review policy."""

    score: bool
    responses: bool
    correct: bool


def review_rights(*, attempt: Attempt, now: datetime | None = None) -> ReviewRights:
    """Nothing before release; after release, what the policy allows and when."""
    assessment = attempt.assessment
    if attempt.status != Attempt.Status.RELEASED:
        return ReviewRights(False, False, False)
    now = now or timezone.now()
    when_ok = assessment.review_when == Assessment.ReviewWhen.IMMEDIATELY or (
        assessment.review_when == Assessment.ReviewWhen.AFTER_CLOSE
        and assessment.closes_at is not None
        and now >= assessment.closes_at
    )
    shows = assessment.review_shows
    return ReviewRights(
        score=True,
        responses=when_ok
        and shows in (Assessment.ReviewShows.RESPONSES, Assessment.ReviewShows.CORRECT),
        correct=when_ok and shows == Assessment.ReviewShows.CORRECT,
    )


def grading_queue(
    *, user: Any, run_id: int | None = None, assessment_id: int | None = None, status: str = ""
) -> QuerySet[Attempt]:
    """Submitted attempts in the runs the person teaches, oldest first, with what the list shows
    (one query whatever the page size)."""
    attempts = Attempt.objects.filter(run__in=teaching_runs(user=user).values("pk"))
    if status == "graded":
        attempts = attempts.filter(status=Attempt.Status.GRADED)
    elif status == "released":
        attempts = attempts.filter(status=Attempt.Status.RELEASED)
    else:
        attempts = attempts.filter(status=Attempt.Status.SUBMITTED)
    if run_id:
        attempts = attempts.filter(run_id=run_id)
    if assessment_id:
        attempts = attempts.filter(assessment_id=assessment_id)
    return attempts.select_related("user", "run", "assessment__lesson").order_by(
        "submitted_at", "pk"
    )


def queue_filters(*, user: Any) -> tuple[QuerySet[CourseRun], QuerySet[Assessment]]:
    """The runs and assessments the queue may be filtered by."""
    runs = teaching_runs(user=user)
    assessments = (
        Assessment.objects.filter(lesson__version__runs__in=runs.values("pk"))
        .select_related("lesson")
        .distinct()
    )
    return runs, assessments


# An aggregate over fewer attempts shows no facility or discrimination (item_statistics).
MIN_ATTEMPTS = 5


@dataclass(frozen=True)
class ItemStatistic:
    question: Question
    responses: int
    facility: float | None  # mean share of the points earned (0 hard … 1 easy)
    discrimination: float | None  # correlation of the item with the rest of the test
    hidden: bool = False  # too few attempts: facility and discrimination left out


def _pearson(xs: list[float], ys: list[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    if var_x == 0 or var_y == 0:
        return None
    return cov / math.sqrt(var_x * var_y)


def item_statistics(
    *,
    assessment: Assessment,
    run: CourseRun | None = None,
    taught_by: Any = None,
    min_attempts: int = 0,
) -> list[ItemStatistic]:
    """Facility and discrimination (item–rest correlation) of each question, over graded attempts:
    of `run`, else of the runs `taught_by` teaches (courses.teach_run, as a subquery:
    teaching_runs), else of every run. Fewer than `min_attempts` attempts: each question's
    facility and discrimination are left out (`hidden`), which would give away the results of
    the few officers behind them.

    One pass over the answers of the assessment's graded attempts (two queries).
    """
    answers = Answer.objects.filter(
        attempt__assessment=assessment,
        attempt__status__in=(Attempt.Status.GRADED, Attempt.Status.RELEASED),
        score__isnull=False,
    )
    if run is not None:
        answers = answers.filter(attempt__run=run)
    elif taught_by is not None:
        answers = answers.filter(
            attempt__run__in=teaching_runs(user=taught_by).order_by().values("pk")
        )
    rows = list(answers.values_list("question_id", "attempt_id", "score", "max_score"))
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for _question, attempt_id, score, _max in rows:
        totals[attempt_id] += score or Decimal(0)
    hidden = len(totals) < min_attempts
    per_question: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for question_id, attempt_id, maybe_score, max_score in rows:
        score = maybe_score or Decimal(0)
        share = float(score / max_score) if max_score else 0.0
        per_question[question_id].append((share, float(totals[attempt_id] - score)))
    questions = Question.objects.in_bulk(list(per_question))
    stats = []
    for question_id, pairs in sorted(per_question.items()):
        shares = [share for share, _rest in pairs]
        stats.append(
            ItemStatistic(
                question=questions[question_id],
                responses=len(pairs),
                facility=None if hidden or not shares else sum(shares) / len(shares),
                discrimination=None
                if hidden
                else _pearson(shares, [rest for _share, rest in pairs]),
                hidden=hidden,
            )
        )
    return stats


def run_grade_rows(*, run: CourseRun) -> Iterator[list[str]]:
    """CSV rows of a run's grades: one per enrolment and assessment, streamed in chunks."""
    assessments = list(
        Assessment.objects.filter(lesson__version=run.version).select_related("lesson")
    )
    attempts: dict[tuple[int, int], list[Attempt]] = defaultdict(list)
    for attempt in (
        Attempt.objects.filter(run=run)
        .only("enrollment_id", "assessment_id", "number", "status", "score_pct", "passed")
        .order_by("number")
        .iterator(chunk_size=2000)
    ):
        attempts[(attempt.enrollment_id, attempt.assessment_id)].append(attempt)
    enrollments = (
        Enrollment.objects.filter(run=run)
        .select_related("user")
        .order_by("user__full_name", "pk")
        .iterator(chunk_size=2000)
    )
    for enrollment in enrollments:
        for assessment in assessments:
            mine = attempts.get((enrollment.pk, assessment.pk), [])
            released = [
                a.score_pct
                for a in mine
                if a.status == Attempt.Status.RELEASED and a.score_pct is not None
            ]
            if not released:
                counted: Decimal | None = None
            elif assessment.grading_method == Assessment.GradingMethod.LAST:
                counted = released[-1]
            elif assessment.grading_method == Assessment.GradingMethod.AVERAGE:
                # rounded half up, as the learner's result is (services._counted)
                counted = (sum(released, Decimal(0)) / len(released)).quantize(
                    Decimal("0.01"), ROUND_HALF_UP
                )
            else:
                counted = max(released)
            yield [
                enrollment.user.full_name,
                enrollment.user.email,
                enrollment.user.badge_number,
                assessment.title(),
                str(len(mine)),
                "" if counted is None else str(counted),
                ""
                if counted is None
                else ("yes" if counted >= assessment.passing_score_pct else "no"),
                str(
                    sum(
                        1
                        for a in mine
                        if a.status in (Attempt.Status.SUBMITTED, Attempt.Status.GRADED)
                    )
                ),
            ]


# --- Extra time -----------------------------------------------------------------------------


def extended_minutes(*, limit_minutes: int, extra_pct: int) -> int:
    """A time limit lengthened by `extra_pct` per cent, rounded up to whole minutes (a learner
    allowed +25 % on 10 minutes gets 13, never 12)."""
    return -(-limit_minutes * (100 + extra_pct) // 100)


def allowed_minutes(*, assessment: Assessment, enrollment: Enrollment) -> int | None:
    """The minutes the learner of `enrollment` has for `assessment` with their extra time; None
    when the assessment has no time limit or the learner no extra time. Reads
    `enrollment.time_allowance`: select it with the enrolment to spare the query."""
    if not assessment.time_limit_minutes:
        return None
    try:
        allowance = enrollment.time_allowance
    except TimeAllowance.DoesNotExist:
        return None
    return extended_minutes(
        limit_minutes=assessment.time_limit_minutes, extra_pct=allowance.extra_pct
    )


def run_time_allowances(*, run: CourseRun, search: str = "") -> QuerySet[Enrollment]:
    """The run's learners who may take its assessments (active or completed enrolments), by
    name, each with their user and `extra_pct` (None without extra time): one query whatever
    the page size, the allowance joined. `search` keeps those whose name, email or badge number
    contains it."""
    enrollments = Enrollment.objects.filter(
        run=run, status__in=(Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED)
    )
    if search:
        enrollments = enrollments.filter(
            Q(user__full_name__icontains=search)
            | Q(user__email__icontains=search)
            | Q(user__badge_number__icontains=search)
        )
    return (
        enrollments.select_related("user")
        .annotate(extra_pct=F("time_allowance__extra_pct"))
        .order_by("user__full_name", "pk")
    )
