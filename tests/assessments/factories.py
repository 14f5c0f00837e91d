"""Factories for the assessments tests: a course with an assessment lesson, a bank with one
question of each kind, and enrolled learners."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from assessments.models import (
    Assessment,
    AssessmentSection,
    Question,
    QuestionCategory,
    Rubric,
    RubricCriterion,
    RubricLevel,
)
from courses.models import CourseRun, Enrollment, Lesson
from tests.courses.factories import CourseFactory, RunFactory, assign_instructor, make_version
from tests.factories import UserFactory


def options(*ids: str) -> list[dict[str, Any]]:
    return [{"id": i, "text": {"en": f"Option {i}", "pt": f"Opção {i}"}} for i in ids]


def make_question(category: QuestionCategory, kind: str, **fields: Any) -> Question:
    """A question of `kind` with a sensible key (override with fields)."""
    presets: dict[str, dict[str, Any]] = {
        Question.Kind.SINGLE: {
            "data": {"options": options("a", "b", "c")},
            "key": {"correct": "b"},
        },
        Question.Kind.MULTIPLE: {
            "data": {"options": options("a", "b", "c", "d")},
            "key": {"correct": ["a", "c"]},
        },
        Question.Kind.TRUE_FALSE: {"key": {"correct": True}},
        Question.Kind.NUMERIC: {"key": {"value": 3.5, "tolerance": 0.1}},
        Question.Kind.SHORT_TEXT: {"key": {"accepted": ["Interpol"], "pattern": r"inter ?pol"}},
        Question.Kind.MATCHING: {
            "data": {
                "prompts": [
                    {"id": "p1", "text": {"en": "Red"}},
                    {"id": "p2", "text": {"en": "Blue"}},
                ],
                "choices": options("x", "y"),
            },
            "key": {"pairs": {"p1": "x", "p2": "y"}},
        },
        Question.Kind.ORDERING: {
            "data": {"items": options("i1", "i2", "i3")},
            "key": {"order": ["i1", "i2", "i3"]},
        },
        Question.Kind.ESSAY: {},
        Question.Kind.FILE_UPLOAD: {},
        Question.Kind.PRACTICAL: {
            "data": {
                "checklist": [
                    {"id": "c1", "text": {"en": "Secures the scene"}, "points": 2},
                    {"id": "c2", "text": {"en": "Calls for backup"}, "points": 1},
                ]
            },
            "points": Decimal(3),
        },
    }
    values = {**presets[kind], **fields}
    return Question.objects.create(
        course=category.course,
        category=category,
        kind=kind,
        text=values.pop("text", {"en": f"A {kind} question", "pt": f"Uma pergunta {kind}"}),
        **values,
    )


def make_rubric(course: Any) -> Rubric:
    """Two criteria with levels worth 0, 1 and 2 points."""
    rubric = Rubric.objects.create(course=course, title={"en": "Essay rubric"})
    for position, title in enumerate(["Argument", "Use of law"]):
        criterion = RubricCriterion.objects.create(
            rubric=rubric, position=position, title={"en": title, "pt": title}
        )
        for points, level in enumerate(["Missing", "Partial", "Complete"]):
            RubricLevel.objects.create(
                criterion=criterion, position=points, title={"en": level}, points=Decimal(points)
            )
    return rubric


def make_assessment(
    *, kinds: list[str] | None = None, count: int | None = None, **fields: Any
) -> Assessment:
    """A course with a version whose first lesson is an assessment drawing from one category
    that holds one question of each of `kinds` (all drawn unless `count`), and an open run."""
    course = CourseFactory(languages="es en pt fr")
    # Two lessons, so that passing the quiz alone does not complete the course (completion
    # starts certification's work, which is not what these tests are about).
    version = make_version(course, lessons=2)
    lesson = version.lessons.get(position=1)
    lesson.kind = Lesson.Kind.ASSESSMENT
    lesson.title = {"en": "Final quiz", "pt": "Questionário final", "es": "Cuestionario final"}
    lesson.requires_pass = True
    lesson.save()
    category = QuestionCategory.objects.create(
        course=course, slug="general", name={"en": "General"}
    )
    kinds = kinds if kinds is not None else [Question.Kind.SINGLE, Question.Kind.NUMERIC]
    for kind in kinds:
        make_question(category, kind)
    fields.setdefault("time_limit_minutes", 30)
    fields.setdefault("max_attempts", 2)
    assessment = Assessment.objects.create(lesson=lesson, **fields)
    AssessmentSection.objects.create(
        assessment=assessment, category=category, count=count or len(kinds)
    )
    RunFactory(course=course, version=version)
    return assessment


def run_of(assessment: Assessment) -> CourseRun:
    return CourseRun.objects.get(version_id=assessment.lesson.version_id)


def enrol(assessment: Assessment, user: Any | None = None) -> Enrollment:
    """An active enrolment in the assessment's run (created directly: enrolment is courses')."""
    user = user or UserFactory()
    run = run_of(assessment)
    return Enrollment.objects.create(
        user=user, run=run, version=run.version, status=Enrollment.Status.ACTIVE
    )


def essay_assessment(
    *, points: Decimal | None = None, rubric: bool = False
) -> tuple[Assessment, Question]:
    """An untimed assessment of one essay question (worth `points`, graded with the two-criteria
    rubric of make_rubric when `rubric`), and that question."""
    assessment = make_assessment(kinds=[Question.Kind.ESSAY], time_limit_minutes=None)
    essay = Question.objects.get(kind=Question.Kind.ESSAY, course=assessment.lesson.version.course)
    if rubric:
        essay.rubric = make_rubric(essay.course)
    if points is not None:
        essay.points = points
    essay.save()
    return assessment, essay


def submitted(assessment: Assessment, responses: Any, user: Any | None = None) -> Any:
    """An attempt of a newly enrolled learner (or `user`), started and submitted with
    `responses`: {question id: response}, or a function of the started attempt that gives them
    (for responses that follow the questions drawn)."""
    from assessments import services

    enrollment = enrol(assessment, user)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    given = responses(attempt) if callable(responses) else responses
    return services.submit_attempt(attempt=attempt, actor=enrollment.user, responses=given).attempt


def practical_evaluation(
    instructor: Any, officers: int
) -> tuple[Assessment, CourseRun, Question, list[Enrollment]]:
    """A practical evaluation (one checklist question, not released by itself) in a run that
    `instructor` teaches, with `officers` officers enrolled and nothing recorded yet."""
    assessment = make_assessment(
        kinds=[Question.Kind.PRACTICAL], auto_release=False, kind=Assessment.Kind.PRACTICAL
    )
    run = run_of(assessment)
    assign_instructor(run, instructor)
    question = Question.objects.get(category__course=run.course, kind=Question.Kind.PRACTICAL)
    return assessment, run, question, [enrol(assessment) for _ in range(officers)]
