"""Curricula and delivery: programs, courses and their versions, modules and lessons, course runs
(cohorts), enrolments, on-site sessions and attendance, lesson progress, trainer qualification.

Translatable text is stored as {language: text} dictionaries (see lms.i18n.pick).
Counters on CourseRun and Enrollment.progress_pct are kept up to date by courses.services, so that
no page counts rows per request.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from lms.accounts.models import Donor, Institution, MemberState
from lms.i18n import i18n_field, pick
from lms.jobs import Job


class Program(models.Model):
    """A curriculum grouping courses, for example "Police management"."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    title = i18n_field(_("title"))
    description = i18n_field(_("description"))
    owner_institution = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="programs",
        verbose_name=_("owner institution"),
    )
    default_language = models.CharField(_("default language"), max_length=2, default="es")
    ordered = models.BooleanField(_("courses must be taken in order"), default=False)
    donors = models.ManyToManyField(
        Donor, blank=True, related_name="programs", verbose_name=_("funding donors")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")

    def __str__(self) -> str:
        return str(pick(self.title, default=self.default_language) or self.code)


class Course(models.Model):
    """A course: code, credit hours, outcomes, language versions, owner institution."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    owner_institution = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_courses",
        verbose_name=_("owner institution"),
    )
    default_language = models.CharField(_("default language"), max_length=2, default="es")
    languages = models.CharField(
        _("languages"),
        max_length=20,
        default="es",
        help_text=_("Language codes the course is offered in, separated by spaces."),
    )
    credit_hours = models.DecimalField(_("credit hours"), max_digits=6, decimal_places=1, default=0)
    title = i18n_field(_("title"))
    description = i18n_field(_("description"))
    learning_outcomes = models.JSONField(
        _("learning outcomes"), default=dict, blank=True, help_text=_("{language: [outcome, …]}")
    )
    current_version = models.ForeignKey(
        "CourseVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("current version"),
    )
    programs: models.ManyToManyField[Program, ProgramCourse] = models.ManyToManyField(
        Program, through="ProgramCourse", related_name="courses", blank=True
    )
    is_published = models.BooleanField(_("published"), default=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")

    def __str__(self) -> str:
        return str(pick(self.title, default=self.default_language) or self.code)

    @property
    def language_list(self) -> list[str]:
        return self.languages.split()

    def localized_title(self, language: str | None = None) -> str:
        return str(pick(self.title, language, self.default_language))


class ProgramCourse(models.Model):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="program_courses")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="program_courses")
    position = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ["program", "position"]
        constraints = [
            models.UniqueConstraint(fields=["program", "course"], name="program_course_unique")
        ]


class CourseVersion(models.Model):
    """A frozen edition of a course's content and completion rules.

    Enrolments pin the version they started with; editing a version that has enrolments (or an
    accreditation) makes a new version instead.
    """

    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="versions", verbose_name=_("course")
    )
    number = models.PositiveIntegerField(_("version number"))
    notes = models.TextField(_("what changed"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_frozen = models.BooleanField(
        _("frozen"),
        default=False,
        help_text=_("Learners have started it, or it is accredited: edits make a new version."),
    )
    # Completion rules of this version.
    min_attendance_pct = models.PositiveSmallIntegerField(
        _("minimum attendance (%)"), default=0, help_text=_("For on-site and blended runs.")
    )
    passing_score_pct = models.PositiveSmallIntegerField(_("passing score (%)"), default=70)
    contact_hours = models.DecimalField(
        _("contact hours"), max_digits=6, decimal_places=1, default=0
    )
    self_study_hours = models.DecimalField(
        _("self-study hours"), max_digits=6, decimal_places=1, default=0
    )

    class Meta:
        ordering = ["course", "-number"]
        verbose_name = _("course version")
        verbose_name_plural = _("course versions")
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="course_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.course.code} v{self.number}"


class Module(models.Model):
    version = models.ForeignKey(CourseVersion, on_delete=models.CASCADE, related_name="modules")
    position = models.PositiveIntegerField(default=0)
    title = i18n_field(_("title"))

    class Meta:
        ordering = ["version", "position"]
        verbose_name = _("module")
        verbose_name_plural = _("modules")

    def __str__(self) -> str:
        return str(pick(self.title) or f"#{self.position}")


class Lesson(models.Model):
    """One step of a course. Quizzes and assignments are lessons of kind ASSESSMENT, whose
    questions live in assessments/ (linked from there, one-to-one)."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        VIDEO = "video", _("Video")
        DOCUMENT = "document", _("Document")
        XAPI = "xapi", _("External xAPI content")
        ASSESSMENT = "assessment", _("Quiz or assignment")

    version = models.ForeignKey(CourseVersion, on_delete=models.CASCADE, related_name="lessons")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="lessons")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.TEXT)
    title = i18n_field(_("title"))
    body = i18n_field(_("text (sanitised HTML)"))
    video_file = models.FileField(_("video file"), upload_to="lessons/video/", blank=True)
    video_url = models.URLField(_("video link"), blank=True)
    captions = models.FileField(_("captions (WebVTT)"), upload_to="lessons/captions/", blank=True)
    transcript = i18n_field(_("transcript"))
    document = models.FileField(_("document"), upload_to="lessons/documents/", blank=True)
    launch_url = models.CharField(_("launch URL of xAPI content"), max_length=500, blank=True)
    activity_id = models.CharField(_("xAPI activity id"), max_length=500, blank=True, db_index=True)
    is_required = models.BooleanField(_("required for completion"), default=True)
    requires_pass = models.BooleanField(
        _("must be passed"),
        default=False,
        help_text=_("For quizzes and xAPI content: completion needs a pass."),
    )
    estimated_minutes = models.PositiveIntegerField(_("estimated minutes"), default=10)
    # A stable key across versions: the same lesson in v1 and v2 shares it.
    key = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["version", "module__position", "position"]
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")
        indexes = [models.Index(fields=["version", "position"])]

    def __str__(self) -> str:
        return str(pick(self.title) or f"#{self.position}")


class CourseRun(models.Model):
    """A cohort: one delivery of a course version, on-site, virtual self-paced or blended."""

    class Mode(models.TextChoices):
        ONSITE = "onsite", _("On-site")
        VIRTUAL = "virtual", _("Virtual self-paced")
        BLENDED = "blended", _("Blended")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", pgettext_lazy("course run", "Open")
        CLOSED = "closed", _("Closed")
        ARCHIVED = "archived", _("Archived")

    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="runs", verbose_name=_("course")
    )
    version = models.ForeignKey(
        CourseVersion,
        on_delete=models.PROTECT,
        related_name="runs",
        verbose_name=_("course version"),
    )
    code = models.SlugField(_("code"), max_length=60, unique=True)
    mode = models.CharField(
        _("delivery mode"), max_length=10, choices=Mode.choices, default=Mode.VIRTUAL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    language = models.CharField(_("language of delivery"), max_length=2, default="es")
    host_institution = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hosted_runs",
        verbose_name=_("host institution"),
    )
    member_state = models.ForeignKey(
        MemberState,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="runs",
        verbose_name=_("member state"),
    )
    venue = models.CharField(_("venue"), max_length=200, blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    enrolment_opens = models.DateTimeField(_("enrolment opens"), null=True, blank=True)
    enrolment_closes = models.DateTimeField(_("enrolment closes"), null=True, blank=True)
    capacity = models.PositiveIntegerField(
        _("seats"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    requires_approval = models.BooleanField(_("enrolment needs approval"), default=False)
    self_enrolment = models.BooleanField(_("officers may enrol themselves"), default=True)
    instructors: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="RunInstructor", related_name="taught_runs", blank=True
    )
    # Train-the-trainers.
    qualifies_trainers = models.BooleanField(_("graduates qualify as trainers"), default=False)
    replicated_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replications",
        verbose_name=_("replication of"),
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervised_runs",
        verbose_name=_("supervising expert"),
    )
    # Counters kept by courses.services (never recounted per request).
    active_count = models.PositiveIntegerField(default=0, editable=False)
    waitlist_count = models.PositiveIntegerField(default=0, editable=False)
    completed_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "code"]
        verbose_name = _("course run")
        verbose_name_plural = _("course runs")
        indexes = [
            models.Index(fields=["course", "status"]),
            models.Index(fields=["host_institution", "status"]),
            models.Index(fields=["member_state", "mode"]),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.active_count, 0)


class RunInstructor(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", _("Lead instructor")
        ASSISTANT = "assistant", _("Assistant")
        TRAINER = "trainer", _("Replicating trainer")

    run = models.ForeignKey(CourseRun, on_delete=models.CASCADE, related_name="run_instructors")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="run_assignments"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.LEAD)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "user"], name="run_instructor_unique")
        ]
        indexes = [models.Index(fields=["user", "run"])]


# Set while an update whose caller knows the ids (and forgets their states itself) runs: Django's
# bulk_update updates its rows through QuerySet.update, and update_one: no SELECT of the ids.
_IDS_KNOWN: ContextVar[bool] = ContextVar("courses_ids_known", default=False)


class _PlayerStateQuerySet(models.QuerySet[Any]):
    """A QuerySet whose writes that send no model signals (update, bulk_create, bulk_update, and
    delete, which a progress row's receiver would slow down) forget the lesson player's kept
    state of the enrolments they touch (courses.player_state): the post_save receivers and an
    enrolment's post_delete cover the rest (courses.receivers)."""

    # the column naming the enrolment: its own id, or the progress row's enrolment
    enrollment_attr = "pk"

    def _forget(self, ids: Any) -> None:
        from courses import player_state

        player_state.forget_many(ids)

    def update(self, **kwargs: Any) -> int:
        if _IDS_KNOWN.get():  # bulk_update or update_one: the caller forgets
            return super().update(**kwargs)
        ids = list(self.values_list(self.enrollment_attr, flat=True).distinct())
        rows = super().update(**kwargs)
        self._forget(ids)
        return rows

    def update_one(self, pk: int, **kwargs: Any) -> int:
        """update() of the enrolment with this id (of an enrolment's QuerySet): it forgets that
        enrolment's state without reading the id back first."""
        token = _IDS_KNOWN.set(True)
        try:
            rows = self.filter(pk=pk).update(**kwargs)
        finally:
            _IDS_KNOWN.reset(token)
        self._forget([pk])
        return rows

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        created = super().bulk_create(objs, *args, **kwargs)
        self._forget(getattr(obj, self.enrollment_attr) for obj in created)
        return created

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        objs = list(objs)
        token = _IDS_KNOWN.set(True)
        try:
            rows = super().bulk_update(objs, fields, *args, **kwargs)
        finally:
            _IDS_KNOWN.reset(token)
        self._forget(getattr(obj, self.enrollment_attr) for obj in objs)
        return rows

    def delete(self) -> tuple[int, dict[str, int]]:
        ids = list(self.values_list(self.enrollment_attr, flat=True).distinct())
        deleted = super().delete()
        self._forget(ids)
        return deleted


class _ProgressQuerySet(_PlayerStateQuerySet):
    enrollment_attr = "enrollment_id"


class Enrollment(models.Model):
    """A person in a course run, pinned to the course version they started with."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        WAITLISTED = "waitlisted", _("On the waiting list")
        ACTIVE = "active", _("Enrolled")
        COMPLETED = "completed", _("Completed")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        REJECTED = "rejected", _("Rejected")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="enrollments",
        verbose_name=_("learner"),
        db_index=False,  # (user, status) and the unique (user, run) lead with it
    )
    run = models.ForeignKey(
        CourseRun,
        on_delete=models.PROTECT,
        related_name="enrollments",
        verbose_name=_("course run"),
        db_index=False,  # (run, status) and (run, waitlist_position) lead with it
    )
    version = models.ForeignKey(CourseVersion, on_delete=models.PROTECT, related_name="enrollments")
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    registration = models.UUIDField(
        _("xAPI registration"), default=uuid.uuid4, unique=True, editable=False
    )
    enrolled_at = models.DateTimeField(_("enrolled at"), default=timezone.now)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("enrolled by"),
    )
    waitlist_position = models.PositiveIntegerField(null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    progress_pct = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    attendance_pct = models.PositiveSmallIntegerField(_("attendance (%)"), null=True, blank=True)
    score_pct = models.DecimalField(
        _("final score (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    passed = models.BooleanField(null=True, blank=True)
    # The resume point, written on every move between lessons. Neither indexed nor a database
    # foreign key: an index on it made each of those UPDATEs write a new entry in every index of
    # the table (no heap-only update), and nothing looks enrolments up by it. A deleted lesson
    # leaves a stale id, which resuming skips (it falls back to the first lesson not done).
    last_lesson = models.ForeignKey(
        Lesson,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Denormalised for dashboards and scoped lists without joins across 1,000,000 rows.
    institution = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="enrollments",
        db_index=False,  # (institution, status) leads with it
    )
    member_state = models.ForeignKey(
        MemberState, null=True, blank=True, on_delete=models.PROTECT, related_name="enrollments"
    )

    objects = _PlayerStateQuerySet.as_manager()

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(fields=["user", "run"], name="enrollment_unique_user_run")
        ]
        indexes = [
            models.Index(fields=["run", "status"]),
            models.Index(fields=["user", "status"]),
            models.Index(fields=["institution", "status"]),
            models.Index(fields=["run", "waitlist_position"]),
            models.Index(fields=["completed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.run_id}"


class EnrollmentEvent(models.Model):
    """Each enrolment state change, with who and when."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["enrollment", "at"]
        indexes = [models.Index(fields=["enrollment", "at"])]


class LessonProgress(models.Model):
    """Where a learner stands in one lesson."""

    class Status(models.TextChoices):
        STARTED = "started", _("Started")
        COMPLETED = "completed", _("Completed")

    enrollment = models.ForeignKey(
        Enrollment,
        on_delete=models.CASCADE,
        related_name="lesson_progress",
        db_index=False,  # the unique (enrollment, lesson) leads with it
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STARTED)
    passed = models.BooleanField(null=True, blank=True)
    score_pct = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    position_seconds = models.PositiveIntegerField(
        default=0, help_text=_("Where a video was left.")
    )
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = _ProgressQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "lesson"], name="lesson_progress_unique")
        ]

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        from courses import player_state

        player_state.forget(self.enrollment_id)  # as the QuerySet's delete (no receiver)
        return deleted


class Session(models.Model):
    """A scheduled on-site session of a run."""

    run = models.ForeignKey(CourseRun, on_delete=models.CASCADE, related_name="sessions")
    title = i18n_field(_("title"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    room = models.CharField(_("room"), max_length=100, blank=True)

    class Meta:
        ordering = ["run", "starts_at"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        indexes = [models.Index(fields=["run", "starts_at"])]
        constraints = [
            # One session of a run from a given start to a given end: the same form sent twice
            # (a double click, a retry) adds it once (courses.services.add_session).
            models.UniqueConstraint(
                fields=["run", "starts_at", "ends_at"], name="session_unique_run_times"
            )
        ]

    def __str__(self) -> str:
        return str(pick(self.title) or self.starts_at.isoformat())


class AttendanceRecord(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        LATE = "late", _("Late")
        ABSENT = "absent", _("Absent")
        EXCUSED = "excused", _("Excused")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="attendance")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="attendance")
    status = models.CharField(_("attendance"), max_length=8, choices=Status.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "enrollment"], name="attendance_unique")
        ]
        indexes = [models.Index(fields=["enrollment"])]


class TrainerQualification(models.Model):
    """A graduate of a train-the-trainers run, qualified to deliver the course at home."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trainer_qualifications"
    )
    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="trainer_qualifications"
    )
    qualified_by_run = models.ForeignKey(
        CourseRun, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    qualified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="trainer_qualification_unique")
        ]


class SupervisionObservation(models.Model):
    """An expert's feedback on a replicating trainer's teaching."""

    run = models.ForeignKey(CourseRun, on_delete=models.CASCADE, related_name="observations")
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rating = models.PositiveSmallIntegerField(_("rating (1-5)"), null=True, blank=True)
    feedback = models.TextField(_("feedback on teaching"))
    observed_at = models.DateTimeField(default=timezone.now)


class EnrolmentJob(Job):
    """A coordinator's bulk enrolment too large for one request ("everyone matching" a search
    of thousands of officers): done by a worker in batches, its progress kept here for the page
    that follows it. Safe to run again: those already enrolled count as such."""

    run = models.ForeignKey(CourseRun, on_delete=models.CASCADE, related_name="enrolment_jobs")
    query = models.CharField(_("search"), max_length=100, blank=True)
    enrolled = models.PositiveIntegerField(default=0)
    waitlisted = models.PositiveIntegerField(default=0)
    already = models.PositiveIntegerField(default=0)

    COUNTERS = ("enrolled", "waitlisted", "already")

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["run", "-created_at"])]
        verbose_name = _("bulk enrolment")
        verbose_name_plural = _("bulk enrolments")
