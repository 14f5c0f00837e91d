"""Question banks, assessments (quizzes, exams, assignments, practical evaluations), attempts,
answers, rubrics, the history of every grade change and the extra time some learners are allowed.

Translatable text is stored as {language: text} dictionaries (read with lms.i18n.pick). A
question keeps what a learner may see (`data`) apart from how it is graded (`key`), so that
nothing that renders `data` can leak a correct answer. An attempt stores its own draw (which
questions, in which order, with options in which order) so that starting, saving and submitting
never read the bank.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.models import Course, Enrollment, Lesson
from lms.i18n import i18n_field, pick


class QuestionCategory(models.Model):
    """A part of a course's question bank, for example "Use of force"."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="question_categories")
    slug = models.SlugField(_("code"), max_length=60)
    name = i18n_field(_("name"))

    class Meta:
        ordering = ["course", "slug"]
        verbose_name = _("question category")
        verbose_name_plural = _("question categories")
        constraints = [
            models.UniqueConstraint(fields=["course", "slug"], name="question_category_unique")
        ]

    def __str__(self) -> str:
        return str(pick(self.name) or self.slug)


class Rubric(models.Model):
    """Criteria by levels with points, for essays, uploads and practical evaluations."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="rubrics")
    title = i18n_field(_("title"))

    class Meta:
        verbose_name = _("rubric")
        verbose_name_plural = _("rubrics")

    def __str__(self) -> str:
        return str(pick(self.title) or self.pk)


class RubricCriterion(models.Model):
    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="criteria")
    position = models.PositiveIntegerField(default=0)
    title = i18n_field(_("criterion"))

    class Meta:
        ordering = ["rubric", "position", "pk"]
        verbose_name = _("rubric criterion")
        verbose_name_plural = _("rubric criteria")

    def __str__(self) -> str:
        return str(pick(self.title) or self.pk)


class RubricLevel(models.Model):
    criterion = models.ForeignKey(RubricCriterion, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveIntegerField(default=0)
    title = i18n_field(_("level"))
    points = models.DecimalField(_("points"), max_digits=6, decimal_places=2)

    class Meta:
        ordering = ["criterion", "position", "pk"]
        verbose_name = _("rubric level")
        verbose_name_plural = _("rubric levels")

    def __str__(self) -> str:
        return f"{pick(self.title)} ({self.points})"


class Question(models.Model):
    """One question of a course's bank.

    `data` is what the learner sees besides the text: options [{"id", "text": {lang: …}}] for
    choice kinds, "prompts"/"choices" for matching, "items" for ordering, "checklist"
    [{"id", "text", "points"}] for practical evaluations. `key` is how it is graded and is never
    sent to a learner before the review policy allows: {"correct": "a"} (single choice),
    {"correct": ["a", "c"]} (multiple), {"correct": true} (true/false),
    {"value": 3.5, "tolerance": 0.1} (numeric), {"accepted": [...], "pattern": "...",
    "case_sensitive": false} (short text), {"pairs": {"p1": "c2"}} (matching),
    {"order": ["i3", "i1", "i2"]} (ordering).
    """

    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        TRUE_FALSE = "true_false", _("True or false")
        NUMERIC = "numeric", _("Numeric")
        SHORT_TEXT = "short_text", _("Short text")
        MATCHING = "matching", _("Matching")
        ORDERING = "ordering", _("Ordering")
        ESSAY = "essay", _("Essay")
        FILE_UPLOAD = "file_upload", _("File upload")
        PRACTICAL = "practical", _("Practical evaluation")

    MANUAL_KINDS = frozenset({Kind.ESSAY, Kind.FILE_UPLOAD, Kind.PRACTICAL})

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="questions")
    category = models.ForeignKey(
        QuestionCategory,
        on_delete=models.PROTECT,
        related_name="questions",
        verbose_name=_("category"),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    text = i18n_field(_("question text"))
    data = models.JSONField(_("options and parts shown to learners"), default=dict, blank=True)
    key = models.JSONField(_("correct answer"), default=dict, blank=True)
    feedback = i18n_field(_("feedback shown in review"))
    points = models.DecimalField(_("points"), max_digits=6, decimal_places=2, default=Decimal(1))
    tags = models.JSONField(default=list, blank=True, help_text=_("A list of tags."))
    rubric = models.ForeignKey(
        Rubric, null=True, blank=True, on_delete=models.SET_NULL, related_name="questions"
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "pk"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        indexes = [
            models.Index(fields=["category", "is_active"]),
            GinIndex(fields=["tags"], name="question_tags_gin"),
        ]

    def __str__(self) -> str:
        return str(pick(self.text) or self.pk)[:80]

    def clean(self) -> None:
        super().clean()
        pattern = self.key.get("pattern") if isinstance(self.key, dict) else None
        if self.kind == self.Kind.SHORT_TEXT and pattern:
            try:
                re.compile(str(pattern))
            except re.error as error:
                raise ValidationError(
                    {"key": _("The pattern is not a valid regular expression.")}
                ) from error

    @property
    def is_manual(self) -> bool:
        return self.kind in self.MANUAL_KINDS


class Assessment(models.Model):
    """A quiz, exam, assignment or practical evaluation placed in a course as a lesson."""

    class Kind(models.TextChoices):
        QUIZ = "quiz", _("Quiz")
        EXAM = "exam", _("Exam")
        ASSIGNMENT = "assignment", _("Assignment")
        PRACTICAL = "practical", _("Practical evaluation")

    class GradingMethod(models.TextChoices):
        HIGHEST = "highest", _("Highest attempt")
        LAST = "last", _("Last attempt")
        AVERAGE = "average", _("Average of attempts")

    class ReviewWhen(models.TextChoices):
        IMMEDIATELY = "immediately", _("As soon as the grade is released")
        AFTER_CLOSE = "after_close", _("After the assessment closes")
        NEVER = "never", _("Never")

    class ReviewShows(models.TextChoices):
        SCORE = "score", _("Score only")
        RESPONSES = "responses", _("Score and own responses marked right or wrong")
        CORRECT = "correct", _("Score, responses, correct answers and feedback")

    lesson = models.OneToOneField(
        Lesson, on_delete=models.CASCADE, related_name="assessment", verbose_name=_("lesson")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.QUIZ)
    instructions = i18n_field(_("instructions"))
    time_limit_minutes = models.PositiveIntegerField(
        _("time limit (minutes)"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    max_attempts = models.PositiveSmallIntegerField(
        _("maximum attempts"), null=True, blank=True, default=1, help_text=_("Empty: no limit.")
    )
    grading_method = models.CharField(
        _("attempt that counts"),
        max_length=10,
        choices=GradingMethod.choices,
        default=GradingMethod.HIGHEST,
    )
    passing_score_pct = models.DecimalField(
        _("passing score (%)"), max_digits=5, decimal_places=2, default=Decimal(70)
    )
    shuffle_options = models.BooleanField(_("shuffle options per attempt"), default=True)
    shuffle_questions = models.BooleanField(_("shuffle questions per attempt"), default=True)
    review_when = models.CharField(
        _("review allowed"),
        max_length=12,
        choices=ReviewWhen.choices,
        default=ReviewWhen.IMMEDIATELY,
    )
    review_shows = models.CharField(
        _("review shows"), max_length=10, choices=ReviewShows.choices, default=ReviewShows.SCORE
    )
    auto_release = models.BooleanField(
        _("release automatically graded results at once"),
        default=True,
        help_text=_("Attempts that need an instructor are released by the instructor."),
    )

    class Meta:
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")

    def __str__(self) -> str:
        return str(pick(self.lesson.title) or self.pk)

    def title(self) -> str:
        return str(pick(self.lesson.title))


class AssessmentSection(models.Model):
    """Draw `count` questions at random from a category (optionally only those with a tag).

    `pool` caches the eligible questions as [[question id, [option ids]], …]; it is rebuilt when
    a question of the category changes (assessments.receivers), so that starting an attempt reads
    one row instead of the bank.
    """

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveIntegerField(default=0)
    category = models.ForeignKey(
        QuestionCategory, on_delete=models.PROTECT, related_name="sections"
    )
    tag = models.CharField(_("only questions tagged"), max_length=40, blank=True)
    count = models.PositiveIntegerField(_("questions drawn"), default=5)
    pool = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["assessment", "position", "pk"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        indexes = [models.Index(fields=["category"])]


class Attempt(models.Model):
    """One learner's attempt at an assessment, with its draw and its grade."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        SUBMITTED = "submitted", _("Submitted, awaiting grading")
        GRADED = "graded", _("Graded, not yet released")
        RELEASED = "released", _("Grade released")

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="attempts")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="attempts")
    # Denormalised so that the grading queue filters by run without joining enrolments.
    run = models.ForeignKey("courses.CourseRun", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attempts"
    )
    number = models.PositiveSmallIntegerField(_("attempt number"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.IN_PROGRESS
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    deadline = models.DateTimeField(_("time runs out at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    expired = models.BooleanField(
        _("closed when time ran out"), default=False, help_text=_("Submitted by the server.")
    )
    # [{"question": id, "options": [option ids in the order shown]}, …]
    draw = models.JSONField(default=list, editable=False)
    score = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    max_score = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal(0))
    score_pct = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    needs_grading = models.PositiveSmallIntegerField(
        default=0, help_text=_("Answers still waiting for an instructor.")
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "enrollment", "number"], name="attempt_unique_number"
            ),
            # At most one attempt in progress per learner and assessment, even when two
            # "start" requests race.
            models.UniqueConstraint(
                fields=["assessment", "enrollment"],
                condition=models.Q(status="in_progress"),
                name="attempt_one_in_progress",
            ),
        ]
        indexes = [
            models.Index(fields=["run", "assessment", "status"]),
            models.Index(fields=["assessment", "status"]),
            models.Index(fields=["user", "assessment"]),
        ]

    def __str__(self) -> str:
        return f"{self.assessment_id}/{self.enrollment_id}#{self.number}"


def _upload_to(answer: Answer, filename: str) -> str:
    return f"assessments/{answer.attempt_id}/{answer.question_id}/{filename}"


class Answer(models.Model):
    """A learner's response to one drawn question, and its grade."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    position = models.PositiveSmallIntegerField()
    response = models.JSONField(null=True, blank=True)
    file = models.FileField(_("uploaded file"), upload_to=_upload_to, blank=True)
    saved_at = models.DateTimeField(null=True, blank=True)
    max_score = models.DecimalField(max_digits=6, decimal_places=2)
    score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    is_manual = models.BooleanField(default=False)
    # {criterion id: level id} when graded with a rubric; {item id: true} for a checklist.
    rubric_levels = models.JSONField(default=dict, blank=True)
    comment = models.TextField(_("comment to the learner"), blank=True)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    graded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["attempt", "position"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "question"], name="answer_unique_question")
        ]
        indexes = [models.Index(fields=["question", "attempt"])]

    def __str__(self) -> str:
        return f"{self.attempt_id}:{self.question_id}"


class GradeChange(models.Model):
    """Who changed a grade, when, from what to what and why (first grading and each regrade)."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="history")
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="grade_history")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    old_score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    new_score = models.DecimalField(max_digits=6, decimal_places=2)
    reason = models.TextField(_("reason"), blank=True)
    is_regrade = models.BooleanField(default=False)

    class Meta:
        ordering = ["attempt", "changed_at", "pk"]
        indexes = [models.Index(fields=["attempt", "changed_at"])]


class TimeAllowance(models.Model):
    """Extra time on every timed assessment of a run for one enrolment (an accessibility
    accommodation, WCAG 2.2.1 Timing Adjustable): the time limit grows by `extra_pct`, the
    closing time does not. No reason is stored: why a learner needs it is sensitive data."""

    class ExtraTime(models.IntegerChoices):
        QUARTER = 25, _("+25 %")
        HALF = 50, _("+50 %")
        DOUBLE = 100, _("+100 %")
        TRIPLE = 200, _("+200 %")

    enrollment = models.OneToOneField(
        Enrollment,
        on_delete=models.CASCADE,
        related_name="time_allowance",
        verbose_name=_("enrolment"),
    )
    extra_pct = models.PositiveSmallIntegerField(_("extra time"), choices=ExtraTime.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("granted by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("time allowance")
        verbose_name_plural = _("time allowances")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(extra_pct__in=[25, 50, 100, 200]),
                name="time_allowance_extra_pct_offered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id}: +{self.extra_pct} %"
