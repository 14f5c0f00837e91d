"""Essays for the load test's instructors to grade.

The scale seeder seeds no question banks and no submitted attempts, so the instructors of the
load model had a grading queue to look at and nothing to grade. `setup` makes, once per
database, an essay assignment in a run that the sampled instructors teach, and keeps enough
officers' attempts submitted and waiting for a grade: the Locust instructors open one (the
grading page) and grade its essay (the POST), as the assessments app's own pages do it.
Graded attempts are not released, so a grade never starts a course completion here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

COURSE = "loadtest-essay-course"
RUN = "loadtest-essay-run"
OFFICERS = "essay{n}@loadtest.lms"
POINTS = Decimal(10)


def _assessment() -> tuple[Any, Any, Any]:
    """The essay assignment, its question and its run (made on first use)."""
    from assessments.models import Assessment, AssessmentSection, Question, QuestionCategory
    from loadtests.skeleton import assessment_run

    run, assessment, made = assessment_run(
        course_code=COURSE, run_code=RUN,
        title={"es": "Ensayo de la carga", "en": "Load test essay"},
        lesson_title={"es": "Ensayo", "en": "Essay"}, kind=Assessment.Kind.ASSIGNMENT,
        time_limit_minutes=None, published=False,
        reading=True,  # a graded essay alone never completes the course
    )  # fmt: skip
    if made:
        category = QuestionCategory.objects.create(course=run.course, slug="essay")
        Question.objects.create(
            course=run.course, category=category, kind=Question.Kind.ESSAY, points=POINTS,
            text={"es": "¿Cuándo es proporcional el uso de la fuerza?",
                  "en": "When is the use of force proportionate?"},
        )  # fmt: skip
        AssessmentSection.objects.create(assessment=assessment, category=category, count=1)
    question = Question.objects.get(course=run.course, kind=Question.Kind.ESSAY)
    return assessment, question, run


def setup(instructor_ids: list[int], waiting: int) -> list[dict[str, int]]:
    """Make the sampled instructors teach the essay run, and `waiting` attempts submitted and not
    graded in it (those a last run left waiting count); returns them: attempt and answer ids."""
    from assessments import services
    from assessments.models import Answer, Attempt
    from courses.models import Enrollment, RunInstructor
    from lms.accounts.models import User

    assessment, question, run = _assessment()
    for user_id in instructor_ids:
        RunInstructor.objects.get_or_create(run=run, user_id=user_id)

    def ungraded() -> Any:
        return Answer.objects.filter(
            attempt__assessment=assessment,
            attempt__status=Attempt.Status.SUBMITTED,
            graded_by__isnull=True,
        )

    missing = waiting - ungraded().count()
    if missing > 0:
        first = User.objects.filter(email__endswith="@loadtest.lms", email__startswith="essay")
        start = first.count()
        for n in range(start, start + missing):
            officer = User.objects.create(
                email=OFFICERS.format(n=n), full_name=f"Essay Officer {n}", password="!",
                status=User.Status.ACTIVE,
            )  # fmt: skip
            enrollment = Enrollment.objects.create(
                user=officer, run=run, version=run.version, status=Enrollment.Status.ACTIVE
            )
            attempt = services.start_attempt(
                assessment=assessment, enrollment=enrollment, actor=officer
            )
            services.submit_attempt(
                attempt=attempt,
                actor=officer,
                responses={question.pk: f"Only the force needed, for as long as needed ({n})."},
            )
    waiting_now = ungraded().order_by("pk").values_list("pk", "attempt_id")[:waiting]
    return [{"attempt": attempt_id, "answer": answer_id} for answer_id, attempt_id in waiting_now]
