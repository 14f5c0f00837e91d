"""Pages of the assessments app; thin: parse, call a service or selector, render.

Every page works without JavaScript; assessments/static/assessments/attempt.js only adds the
autosave every few seconds and a countdown.
"""

from __future__ import annotations

import csv
import uuid
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, When
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from assessments import selectors, services
from assessments.forms import TimeAllowanceForm
from assessments.links import overview_url
from assessments.models import Answer, Assessment, Attempt, Question, TimeAllowance
from courses.models import CourseRun, Enrollment
from lms.accounts.permissions import get_scope, has_perm
from lms.ids import as_id

PAGE_SIZE = 25
EXTRA_TIME_PAGE_SIZE = 50


def _error_text(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _enrollment_for(user: Any, assessment: Assessment, registration: str | None) -> Enrollment:
    """The person's enrolment in which they take the assessment: the one whose xAPI registration
    the address names (the lesson's link carries it), else their active one before a completed
    one, the latest first. PermissionDenied if none (or the registration is not theirs)."""
    enrollments = Enrollment.objects.filter(
        user_id=user.pk,
        version_id=assessment.lesson.version_id,
        status__in=services.TAKING_STATUSES,
    ).select_related("run", "time_allowance")  # the overview shows the learner's extra time
    if registration:
        try:
            enrollments = enrollments.filter(registration=uuid.UUID(registration))
        except ValueError:
            enrollments = enrollments.none()
    enrollment = enrollments.order_by(
        Case(When(status=Enrollment.Status.ACTIVE, then=0), default=1), "-enrolled_at"
    ).first()
    if enrollment is None:
        raise PermissionDenied(_("You are not enrolled in a course run with this assessment."))
    return enrollment


def _own_attempt(request: HttpRequest, pk: int) -> Attempt:
    attempt = get_object_or_404(
        Attempt.objects.select_related("assessment__lesson", "run", "enrollment"), pk=pk
    )
    if attempt.user_id != request.user.pk:
        # Another learner's attempt does not exist, as far as this person can tell.
        raise Http404
    return attempt


def parse_responses(request: HttpRequest, attempt: Attempt) -> dict[int, Any]:
    """Responses from the attempt form: field `q-<id>` (or `q-<id>-<part>` for matching and
    ordering). Only the fields present are returned, so an autosave of part of a page keeps the
    rest."""
    kinds = dict(
        Question.objects.filter(pk__in=[e["question"] for e in attempt.draw]).values_list(
            "pk", "kind"
        )
    )
    post = request.POST
    responses: dict[int, Any] = {}
    for number, entry in enumerate(attempt.draw, start=1):
        pk = entry["question"]
        name = f"q-{pk}"
        kind = kinds.get(pk)
        offered = {str(option) for option in entry.get("options") or []}
        if kind == Question.Kind.MULTIPLE:
            if name in post or f"{name}-present" in post:
                responses[pk] = sorted(post.getlist(name))
                _check_offered(responses[pk], offered, name, number)
        elif kind == Question.Kind.MATCHING:
            parts = {key[len(name) + 1 :]: post[key] for key in post if key.startswith(f"{name}-")}
            if parts:
                responses[pk] = {part: value for part, value in parts.items() if value}
                _check_offered(list(responses[pk].values()), offered, name, number)
        elif kind == Question.Kind.ORDERING:
            # Each item at the place its rank gives it; a place two items claim, or a rank
            # outside 1..n, holds nothing (""), so that equal ranks cannot let the items' own
            # order decide (1, 1, 1 was read as the items in their stored order: full marks).
            ranks: dict[str, int] = {}
            for item in entry["options"]:
                rank = as_id(post.get(f"{name}-{item}", "").strip())
                if rank is not None:
                    ranks[item] = rank
            if ranks:
                claimed = Counter(ranks.values())
                places = [""] * len(entry["options"])
                for item, place in ranks.items():
                    if 1 <= place <= len(places) and claimed[place] == 1:
                        places[place - 1] = item
                responses[pk] = places
        elif kind in (Question.Kind.FILE_UPLOAD, Question.Kind.PRACTICAL):
            continue
        elif name in post:
            value = post[name].strip()
            if len(value) > MAX_ANSWER:
                raise NotOffered(
                    name,
                    _("Question %(number)s: an answer has at most %(count)s characters.")
                    % {"number": number, "count": number_format(MAX_ANSWER, force_grouping=True)},
                )
            if kind == Question.Kind.SINGLE:
                _check_offered([value] if value else [], offered, name, number)
            elif kind == Question.Kind.TRUE_FALSE:
                _check_offered([value] if value else [], {"true", "false"}, name, number)
            responses[pk] = value
    return responses


MAX_ANSWER = 20_000


class NotOffered(Exception):
    """A response no form of the attempt can send (an option not offered, an answer longer than
    the text box takes): refused whole, nothing saved."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _check_offered(values: list[str], offered: set[str], name: str, number: int) -> None:
    if offered and any(value not in offered for value in values):
        raise NotOffered(
            name, _("Question %(number)s: choose one of the answers offered.") % {"number": number}
        )


def _not_offered(request: HttpRequest, error: NotOffered) -> HttpResponse:
    """The 400 for a NotOffered response: JSON for the autosave, a page otherwise."""
    if _wants_json(request):
        return JsonResponse(
            {"saved": False, "error": error.message, "field": error.field}, status=400
        )
    from lms.input_guard import refusal

    return refusal(request, error.field, error.message)


def _files(request: HttpRequest, attempt: Attempt) -> dict[int, Any]:
    drawn = {e["question"] for e in attempt.draw}
    files = {}
    for key, upload in request.FILES.items():
        if key.startswith("q-") and as_id(key[2:]) in drawn:
            files[int(key[2:])] = upload
    return files


@login_required
def overview(request: HttpRequest, pk: int) -> HttpResponse:
    """The learner's page of an assessment: rules, their attempts, start or resume."""
    assessment = get_object_or_404(Assessment.objects.select_related("lesson"), pk=pk)
    enrollment = _enrollment_for(request.user, assessment, request.GET.get("registration"))
    attempts = list(selectors.learner_attempts(assessment=assessment, enrollment=enrollment))
    in_progress = next((a for a in attempts if a.status == Attempt.Status.IN_PROGRESS), None)
    refusal = ""
    if in_progress is None:
        try:
            services.check_can_start(
                assessment=assessment, enrollment=enrollment, now=services.timezone.now()
            )
        except ValidationError as error:
            refusal = _error_text(error)
    return render(
        request,
        "assessments/overview.html",
        {
            "assessment": assessment,
            "enrollment": enrollment,
            "attempts": attempts,
            "in_progress": in_progress,
            "refusal": refusal,
            "counted": services.counted_result(assessment=assessment, enrollment=enrollment),
            "allowed_minutes": selectors.allowed_minutes(
                assessment=assessment, enrollment=enrollment
            ),
        },
    )


@login_required
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    """Start an attempt (or resume the one in progress)."""
    assessment = get_object_or_404(Assessment.objects.select_related("lesson"), pk=pk)
    enrollment = _enrollment_for(request.user, assessment, request.POST.get("registration"))
    try:
        attempt = services.start_attempt(
            assessment=assessment, enrollment=enrollment, actor=request.user
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(overview_url(assessment.pk, enrollment.registration))
    return redirect("assessments:take", pk=attempt.pk)


@login_required
def take(request: HttpRequest, pk: int) -> HttpResponse:
    """The attempt form, with the time left (the server's, not the browser's)."""
    attempt = _own_attempt(request, pk)
    if services.close_if_expired(attempt=attempt):
        messages.error(request, _("Time ran out: the answers you saved have been submitted."))
        return redirect("assessments:review", pk=attempt.pk)
    if attempt.status != Attempt.Status.IN_PROGRESS:
        return redirect("assessments:review", pk=attempt.pk)
    return render(
        request,
        "assessments/take.html",
        {
            "attempt": attempt,
            "assessment": attempt.assessment,
            "rows": selectors.attempt_questions(attempt=attempt),
            "time_left": services.time_left(attempt),
            # the reader's day: a deadline on another day is given with its date
            "ends_today": attempt.deadline is not None
            and timezone.localdate(attempt.deadline) == timezone.localdate(),
        },
    )


@login_required
@require_POST
def save(request: HttpRequest, pk: int) -> HttpResponse:
    """Autosave (also the "Save" button without JavaScript)."""
    attempt = _own_attempt(request, pk)
    try:
        responses = parse_responses(request, attempt)
    except NotOffered as error:
        return _not_offered(request, error)
    try:
        services.save_answers(
            attempt=attempt,
            actor=request.user,
            responses=responses,
            files=_files(request, attempt),
            strict=True,
        )
    except services.InvalidResponse as error:  # the rest is saved; the learner corrects these
        if _wants_json(request):
            return JsonResponse(
                {
                    "saved": True,
                    "error": _error_text(error),
                    "time_left": services.time_left(attempt),
                }
            )
        messages.error(request, _error_text(error))
        return redirect("assessments:take", pk=attempt.pk)
    except ValidationError as error:
        if _wants_json(request):
            return JsonResponse({"saved": False, "error": _error_text(error)}, status=409)
        messages.error(request, _error_text(error))
        return redirect("assessments:review", pk=attempt.pk)
    if _wants_json(request):
        return JsonResponse({"saved": True, "time_left": services.time_left(attempt)})
    messages.success(request, _("Your answers are saved."))
    return redirect("assessments:take", pk=attempt.pk)


@login_required
@require_POST
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit the attempt (twice is once)."""
    attempt = _own_attempt(request, pk)
    try:
        responses = (
            parse_responses(request, attempt)
            if attempt.status == Attempt.Status.IN_PROGRESS
            else {}
        )
    except NotOffered as error:
        return _not_offered(request, error)
    try:
        services.submit_attempt(
            attempt=attempt,
            actor=request.user,
            responses=responses,
            files=_files(request, attempt),
            strict=True,
        )
    except services.LateSubmission as error:
        messages.error(request, _error_text(error))
        return redirect("assessments:review", pk=attempt.pk)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("assessments:take", pk=attempt.pk)
    messages.success(request, _("Your attempt is submitted."))
    return redirect("assessments:review", pk=attempt.pk)


@login_required
def released(request: HttpRequest, pk: int) -> HttpResponse:
    """Where a grade notice leads: the review of the person's last released attempt at the
    assessment (one link for everyone the notice went to), else the assessment's page."""
    attempt = selectors.latest_released_attempt(assessment_id=pk, user=request.user)
    if attempt is None:
        return redirect("assessments:overview", pk=pk)
    return redirect("assessments:review", pk=attempt.pk)


@login_required
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """A submitted attempt as the review policy allows the learner to see it."""
    attempt = _own_attempt(request, pk)
    if attempt.status == Attempt.Status.IN_PROGRESS and not services.close_if_expired(
        attempt=attempt
    ):
        return redirect("assessments:take", pk=attempt.pk)
    attempt.refresh_from_db()
    rights = selectors.review_rights(attempt=attempt)
    rows = []
    if rights.responses:
        from assessments.grading import is_right

        for answer, question, options in selectors.attempt_questions(attempt=attempt):
            right = (
                None
                if question.is_manual
                else is_right(question.kind, question.key, answer.response)
            )
            rows.append(
                {"answer": answer, "question": question, "options": options, "right": right}
            )
    return render(
        request,
        "assessments/review.html",
        {
            "attempt": attempt,
            "assessment": attempt.assessment,
            "rights": rights,
            "rows": rows,
            "back_url": overview_url(attempt.assessment_id, attempt.enrollment.registration),
        },
    )


# --- Instructors ----------------------------------------------------------------------------


def _int(value: str | None) -> int | None:
    return as_id(value)


@login_required
def grading_queue(request: HttpRequest) -> HttpResponse:
    """Attempts waiting for grading (or graded, or released) in the runs the person teaches;
    refused to those who grade nothing (no teaching role and no run they teach or supervise)."""
    runs, assessments = selectors.queue_filters(user=request.user)
    scope = get_scope(request.user)
    if not (scope.is_dps or scope.is_instructor or scope.is_coordinator) and not runs.exists():
        raise PermissionDenied(_("Only instructors grade."))
    run_id = _int(request.GET.get("run"))
    assessment_id = _int(request.GET.get("assessment"))
    status = request.GET.get("status", "")
    attempts = selectors.grading_queue(
        user=request.user, run_id=run_id, assessment_id=assessment_id, status=status
    )
    page = Paginator(attempts, PAGE_SIZE).get_page(request.GET.get("page"))
    choices = list(assessments[:200])
    return render(
        request,
        "assessments/queue.html",
        {
            "page_obj": page,
            "runs": runs[:200],
            "assessments": choices,
            "practical": any(
                a.pk == assessment_id and a.kind == Assessment.Kind.PRACTICAL for a in choices
            ),
            "run_id": run_id,
            "assessment_id": assessment_id,
            "status": status,
            "query_string": urlencode(
                {k: request.GET[k] for k in ("run", "assessment", "status") if request.GET.get(k)}
            ),
        },
    )


def _graded_attempt(request: HttpRequest, pk: int) -> Attempt:
    attempt = get_object_or_404(
        Attempt.objects.select_related("assessment__lesson", "run", "user", "enrollment"), pk=pk
    )
    if not has_perm(request.user, "courses.teach_run", attempt.run):
        raise PermissionDenied(_("You may only grade attempts in the runs you teach."))
    return attempt


@login_required
def grade(request: HttpRequest, pk: int) -> HttpResponse:
    """Grade an attempt's answers with points or a rubric; regrade with a reason."""
    attempt = _graded_attempt(request, pk)
    if request.method == "POST":
        answer = get_object_or_404(
            Answer.objects.select_related("question__rubric", "attempt"),
            pk=_int(request.POST.get("answer")) or 0,
            attempt=attempt,
        )
        try:
            score, levels = _parse_grade(request, answer)
            services.grade_answer(
                answer=answer,
                actor=request.user,
                score=score,
                rubric_levels=levels,
                comment=request.POST.get("comment", "").strip(),
                reason=request.POST.get("reason", ""),
            )
        except ValidationError as error:
            # which of the page's questions, and back to it (the page has one form each)
            messages.error(
                request,
                _("Question %(number)s: %(error)s")
                % {"number": answer.position, "error": _error_text(error)},
            )
        else:
            messages.success(request, _("The grade is saved."))
        return redirect(f"{reverse('assessments:grade', args=[attempt.pk])}#answer-{answer.pk}")
    rows = selectors.attempt_questions(attempt=attempt)
    rubric_ids = {q.rubric_id for _a, q, _o in rows if q.rubric_id}
    from assessments.models import Rubric

    rubrics = {
        rubric.pk: rubric
        for rubric in Rubric.objects.filter(pk__in=rubric_ids).prefetch_related("criteria__levels")
    }
    return render(
        request,
        "assessments/grade.html",
        {
            "attempt": attempt,
            "rows": [
                {
                    "answer": answer,
                    "question": question,
                    "options": options,
                    "rubric": rubrics.get(question.rubric_id or 0),
                    "chosen": {
                        as_id(k): v for k, v in answer.rubric_levels.items() if as_id(k) is not None
                    },
                }
                for answer, question, options in rows
            ],
            "history": attempt.grade_history.select_related("changed_by", "answer").order_by(
                "-changed_at", "-pk"
            ),
        },
    )


def _parse_grade(
    request: HttpRequest, answer: Answer
) -> tuple[Decimal | None, dict[int, int] | None]:
    rubric = answer.question.rubric
    if rubric is not None and request.POST.get("use_rubric", "1") == "1":
        levels: dict[int, int] = {}
        for criterion in rubric.criteria.all():
            chosen = _int(request.POST.get(f"criterion-{criterion.pk}"))
            if chosen is not None:
                levels[criterion.pk] = chosen
        return None, levels
    raw = request.POST.get("score", "").strip().replace(",", ".")
    try:
        score = Decimal(raw)
    except InvalidOperation:
        score = None
    # "NaN" and "Infinity" parse too, and NaN cannot even be compared with the question's points
    if score is None or not score.is_finite():
        raise ValidationError({"score": _("Score: enter a number.")})
    return score, None


def _run_and_assessment(run_code: str, pk: int, user: Any) -> tuple[CourseRun, Assessment]:
    run = get_object_or_404(CourseRun, code=run_code)
    if not has_perm(user, "courses.teach_run", run):
        raise PermissionDenied(_("You may only see the runs you teach."))
    assessment = get_object_or_404(
        Assessment.objects.select_related("lesson"), pk=pk, lesson__version_id=run.version_id
    )
    return run, assessment


@login_required
@require_POST
def release(request: HttpRequest, run_code: str, pk: int) -> HttpResponse:
    """Release the graded attempts of an assessment in a run to the learners."""
    run, assessment = _run_and_assessment(run_code, pk, request.user)
    count = services.release_grades(assessment=assessment, run=run, actor=request.user)
    messages.success(
        request,
        ngettext("%(count)d grade released.", "%(count)d grades released.", count)
        % {"count": count},
    )
    return redirect(
        f"{_reverse('assessments:queue')}?{urlencode({'run': run.pk, 'assessment': assessment.pk})}"
    )


def _reverse(name: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


@login_required
def practical(request: HttpRequest, run_code: str, pk: int) -> HttpResponse:
    """Record a practical evaluation for all the officers of a run on one page (an assessment of
    the practical kind only: the others are answered by the officers themselves)."""
    run, assessment = _run_and_assessment(run_code, pk, request.user)
    if assessment.kind != Assessment.Kind.PRACTICAL:
        raise Http404
    question_ids = [entry[0] for section in assessment.sections.all() for entry in section.pool]
    questions = list(Question.objects.filter(pk__in=question_ids, kind=Question.Kind.PRACTICAL))
    enrollments = Paginator(
        Enrollment.objects.filter(run=run, status__in=services.TAKING_STATUSES)
        .select_related("user")
        .order_by("user__full_name", "pk"),
        50,
    ).get_page(request.GET.get("page"))
    if request.method == "POST":
        marks: dict[int, dict[int, set[str]]] = {}
        comments: dict[int, str] = {}
        for enrollment_id in request.POST.getlist("officer"):
            eid = as_id(enrollment_id)
            if eid is None:
                continue
            marks[eid] = {q.pk: set(request.POST.getlist(f"m-{eid}-{q.pk}")) for q in questions}
            comments[eid] = request.POST.get(f"c-{eid}", "").strip()
        # An officer with nothing ticked and no comment who was never evaluated was not
        # assessed yet (the page lists the whole run): recording them would give a 0. One
        # evaluated before keeps being recorded, so that unticking everything regrades.
        untouched = [eid for eid in marks if not any(marks[eid].values()) and not comments[eid]]
        evaluated = set(
            Attempt.objects.filter(assessment=assessment, enrollment_id__in=untouched).values_list(
                "enrollment_id", flat=True
            )
        )
        for eid in untouched:
            if eid not in evaluated:
                del marks[eid], comments[eid]
        try:
            count = services.record_practical(
                assessment=assessment,
                run=run,
                actor=request.user,
                marks=marks,
                comments=comments,
                reason=request.POST.get("reason", ""),
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(
                request,
                ngettext("%(count)d officer recorded.", "%(count)d officers recorded.", count)
                % {"count": count},
            )
        return redirect(request.get_full_path())
    answers = {
        (answer.attempt.enrollment_id, answer.question_id): answer
        for answer in Answer.objects.filter(
            attempt__assessment=assessment,
            attempt__enrollment__in=[e.pk for e in enrollments],
        ).select_related("attempt")
    }
    rows = []
    for enrollment in enrollments:
        cells = [(question, answers.get((enrollment.pk, question.pk))) for question in questions]
        comment = next((answer.comment for _q, answer in cells if answer and answer.comment), "")
        rows.append({"enrollment": enrollment, "cells": cells, "comment": comment})
    return render(
        request,
        "assessments/practical.html",
        {
            "run": run,
            "assessment": assessment,
            "questions": questions,
            "rows": rows,
            "page_obj": enrollments,
        },
    )


@login_required
def statistics(request: HttpRequest, run_code: str, pk: int) -> HttpResponse:
    """Facility and discrimination of each question, to find bad questions: of the run, or
    with `?scope=all` of every run the viewer teaches (every run of the course for those who
    author it: a coordinator of its owner institution, DPS), never of other institutions' runs
    the viewer has no part in. An aggregate of fewer than selectors.MIN_ATTEMPTS attempts
    shows no facility or discrimination (a run of one officer would give away their score)."""
    run, assessment = _run_and_assessment(run_code, pk, request.user)
    if request.GET.get("scope", "run") != "all":
        stats = selectors.item_statistics(assessment=assessment, run=run)
    else:
        author = has_perm(request.user, "courses.author_course", run.course)
        stats = selectors.item_statistics(
            assessment=assessment,
            taught_by=None if author else request.user,
            min_attempts=selectors.MIN_ATTEMPTS,
        )
        if stats and stats[0].hidden:
            messages.info(
                request,
                _(
                    "Fewer than %(count)d graded attempts in these runs: facility and "
                    "discrimination are not shown, so that no officer's result can be worked out."
                )
                % {"count": selectors.MIN_ATTEMPTS},
            )
    return render(
        request,
        "assessments/statistics.html",
        {"run": run, "assessment": assessment, "stats": stats},
    )


@login_required
def extra_time(request: HttpRequest, run_code: str) -> HttpResponse:
    """The run's learners and the extra time each has on its timed assessments (an accessibility
    accommodation), with a form a row to change it. A refused change shows the page again,
    400, with what is wrong and nothing written."""
    run = get_object_or_404(CourseRun, code=run_code)
    if not has_perm(request.user, "courses.teach_run", run):
        raise PermissionDenied(_("You may only see the runs you teach."))
    form = None
    if request.method == "POST":
        form = TimeAllowanceForm(request.POST, run=run)
        if form.is_valid():
            enrollment = form.cleaned_data["enrollment"]
            extra_pct = form.cleaned_data["extra_pct"]
            try:
                services.set_time_allowance(
                    run=run, enrollment=enrollment, extra_pct=extra_pct, actor=request.user
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                name = enrollment.user.full_name or enrollment.user.email
                if extra_pct is None:
                    done = _("Extra time removed for %(name)s.") % {"name": name}
                else:
                    done = _("Extra time for %(name)s: %(extra)s.") % {
                        "name": name,
                        "extra": TimeAllowance.ExtraTime(extra_pct).label,
                    }
                messages.success(request, done)
                # back to the same search and page (the row's form posts to the page's address)
                return redirect(request.get_full_path())
    search = request.GET.get("q", "").strip()
    page = Paginator(
        selectors.run_time_allowances(run=run, search=search), EXTRA_TIME_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "assessments/extra_time.html",
        {
            "run": run,
            "page_obj": page,
            "search": search,
            "query_string": urlencode({"q": search}) if search else "",
            "choices": TimeAllowance.ExtraTime.choices,
            "form": form,
        },
        status=400 if form is not None and form.errors else 200,
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def grades_csv(request: HttpRequest, run_code: str) -> StreamingHttpResponse:
    """Every enrolment's counted grade per assessment of the run, as CSV (streamed)."""
    run = get_object_or_404(CourseRun, code=run_code)
    if not has_perm(request.user, "courses.teach_run", run):
        raise PermissionDenied(_("You may only see the runs you teach."))
    from lms.csv_safety import safe_row  # no cell a spreadsheet would run as a formula

    writer = csv.writer(_Echo())
    header = [
        _("Name"),
        _("Email"),
        _("Badge number"),
        _("Assessment"),
        _("Attempts"),
        _("Score (%)"),
        _("Passed"),
        _("Awaiting grading"),
    ]

    def rows() -> Any:
        yield writer.writerow(safe_row(header))
        for row in selectors.run_grade_rows(run=run):
            yield writer.writerow(safe_row(row))

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="grades-{run.code}.csv"'
    return response
