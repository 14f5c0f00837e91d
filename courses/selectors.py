"""Reads of the courses app: querysets for the pages and the API, each scoped and free of N+1."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet

from courses.models import (
    AttendanceRecord,
    Course,
    CourseRun,
    Enrollment,
    Lesson,
    LessonProgress,
    Module,
    RunInstructor,
    Session,
)
from lms.accounts.models import Institution, Role, RoleAssignment, User
from lms.accounts.permissions import get_scope
from lms.db import bound_cursor
from lms.memo import Memo


def catalogue_courses(
    *,
    query: str = "",
    language: str = "",
    mode: str = "",
    member_state: str = "",
    program: str = "",
) -> QuerySet[Course]:
    """Published courses with an open run matching the filters, each with its open runs."""
    runs = CourseRun.objects.filter(status=CourseRun.Status.OPEN)
    if language:
        runs = runs.filter(language=language)
    if mode:
        runs = runs.filter(mode=mode)
    if member_state:
        runs = runs.filter(Q(member_state__code=member_state) | Q(member_state__isnull=True))
    courses = Course.objects.filter(is_published=True).filter(
        Exists(runs.filter(course_id=OuterRef("pk")))
    )
    if program:
        courses = courses.filter(programs__code=program)
    if query:
        # Titles and descriptions are small JSON objects: a case-insensitive match on their text
        # finds a word in any language.
        terms = (
            Q(code__icontains=query) | Q(title__icontains=query) | Q(description__icontains=query)
        )
        escaped = json.dumps(query)[1:-1]
        if connection.vendor != "postgresql" and escaped != query:
            # SQLite (a laptop's `make run`) keeps JSON as text with letters beyond ASCII
            # escaped ("proximit\u00e9"): look for the word as it is written there too.
            terms |= Q(title__icontains=escaped) | Q(description__icontains=escaped)
        courses = courses.filter(terms)
    return courses.prefetch_related(
        Prefetch(
            "runs",
            queryset=runs.select_related("member_state").order_by("starts_on", "code"),
            to_attr="open_runs",
        )
    ).order_by("code")


def my_enrollments(*, user: Any) -> QuerySet[Enrollment]:
    """Every enrolment of the person, newest first, with what the page shows (the course's
    title, not its description and outcomes; the last lesson's id, not its content)."""
    return (
        Enrollment.objects.filter(user_id=user.pk)
        .select_related("run__course")
        .defer("run__course__description", "run__course__learning_outcomes")
        .order_by("-enrolled_at", "-pk")
    )


@dataclass(frozen=True)
class LearningRow:
    """One enrolment as My learning shows it."""

    registration: Any
    status: str
    progress_pct: int
    attendance_pct: int | None
    last_lesson_id: int | None
    mode: str
    course_title: dict[str, str]
    language: str
    # Which run: its host institution (short name, else name) and dates, so that two runs of
    # one course (an on-site cohort and the virtual course, a course taken again) tell apart.
    host: str = ""
    starts_on: date | None = None
    ends_on: date | None = None


# My learning's page with its total (a window count) in one statement: the ORM's version of this
# query cost more CPU to build than the rest of the page. The order is my_enrollments'.
_LEARNING_SQL = f"""
SELECT e.registration, e.status, e.progress_pct, e.attendance_pct, e.last_lesson_id, r.mode,
       c.title, c.default_language, COALESCE(NULLIF(i.short_name, ''), i.name), r.starts_on,
       r.ends_on, COUNT(*) OVER ()
  FROM {Enrollment._meta.db_table} e
  JOIN {CourseRun._meta.db_table} r ON r.id = e.run_id
  JOIN {Course._meta.db_table} c ON c.id = r.course_id
  LEFT JOIN {Institution._meta.db_table} i ON i.id = r.host_institution_id
 WHERE e.user_id = %s
 ORDER BY e.enrolled_at DESC, e.id DESC
 LIMIT %s OFFSET %s
"""  # noqa: S608 - table names from the models, values as parameters


def _uuid(value: Any) -> uuid.UUID:
    """A registration read by raw SQL: a UUID from PostgreSQL, 32 hex digits from SQLite."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _learning_rows(user_id: int, offset: int, size: int) -> tuple[list[LearningRow], int]:
    with bound_cursor(prepare=True) as cursor:
        cursor.execute(_LEARNING_SQL, [user_id, size, offset])
        rows = cursor.fetchall()
    total = rows[0][-1] if rows else 0
    return [
        LearningRow(
            _uuid(reg), status, pct, attendance, last, mode, _json(title) or {}, language,
            host or "", _date(starts), _date(ends),
        )
        for reg, status, pct, attendance, last, mode, title, language, host, starts, ends, _total
        in rows
    ], total  # fmt: skip


def _date(value: Any) -> date | None:
    """A date read by raw SQL: a date from PostgreSQL, ISO text from SQLite."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def my_enrollments_page(*, user: Any, number: Any, size: int) -> Any:
    """The page of the learner's enrolments (as my_enrollments orders them) they ask for, as
    LearningRow, with the total counted in the same query; Paginator.get_page's answers (page 1
    for a bad number, the last page past the end, which costs a second query)."""
    from django.core.paginator import Page, Paginator

    try:
        wanted = max(int(number), 1)
    except (TypeError, ValueError):
        wanted = 1
    found, total = _learning_rows(user.pk, (wanted - 1) * size, size)
    if not found and wanted > 1:
        total = my_enrollments(user=user).count()
        last = max((total + size - 1) // size, 1)
        if last < wanted:
            found, total = _learning_rows(user.pk, (last - 1) * size, size)
            wanted = last
    paginator = Paginator(range(total), size)
    return Page(found, wanted, paginator)


# The outline and content of a version change only when an author edits them (the receivers in
# courses.caching forget them then); learners read them on every lesson page.
CONTENT_CACHE_SECONDS = 3600


@dataclass(frozen=True)
class OutlineItem:
    """One lesson in a version's outline: what the player's navigation needs, no content."""

    pk: int
    kind: str
    title: dict[str, str]
    is_required: bool


class Outline(list[OutlineItem]):
    """A version's lessons in reading order. `frozen`: the version was frozen when they were
    read, so they never change again (edits of a frozen version are refused everywhere: the
    authoring services, the admin; an edit makes a new version)."""

    frozen: bool = False


def outline_cache_key(version_id: int) -> str:
    return f"courses:outline:2:{version_id}"


def lesson_cache_key(lesson_id: int) -> str:
    return f"courses:lesson:1:{lesson_id}"


# A frozen version's outline and lessons, kept in this process's memory as well: they cannot
# change, and every lesson page reads them, so each process asks Redis for them once. Bounded;
# the receivers in courses.caching drop entries too, for rows saved under an id that was used
# before (test databases).
_frozen_local: Memo[str, Any] = Memo(2000)


def forget_frozen(keys: list[str]) -> None:
    """Drop this process's copies under `keys` (or all of them with an empty list)."""
    _frozen_local.forget(keys or None)


def lesson_outline(*, version_id: int) -> Outline:
    """The lessons of a course version in reading order (titles only), cached.

    On a miss the version's lessons are read whole once and each is cached for player_lesson
    too, so that a learner's first page after a change still costs one query for content.
    """
    key = outline_cache_key(version_id)
    outline: Outline | None = _frozen_local.get(key)
    if outline is None:
        outline = cache.get(key)
    if outline is None:
        lessons = list(
            Lesson.objects.filter(version_id=version_id)
            .annotate(version_frozen=F("version__is_frozen"))
            .order_by("module__position", "module_id", "position", "pk")
        )
        outline = Outline(
            OutlineItem(pk=item.pk, kind=item.kind, title=item.title or {},
                        is_required=item.is_required)
            for item in lessons
        )  # fmt: skip
        outline.frozen = bool(lessons) and all(item.version_frozen for item in lessons)
        entries: dict[str, Any] = {lesson_cache_key(item.pk): item for item in lessons}
        entries[key] = outline
        cache.set_many(entries, CONTENT_CACHE_SECONDS)
    return outline


def player_lesson(*, lesson_id: int, version_id: int) -> Lesson | None:
    """One lesson of a version with its content, cached (None when not in that version)."""
    key = lesson_cache_key(lesson_id)
    lesson: Lesson | None = _frozen_local.get(key)
    if lesson is None:
        lesson = cache.get(key)
    if lesson is None:
        lesson = Lesson.objects.filter(pk=lesson_id).first()
        if lesson is None:
            return None
        cache.set(key, lesson, CONTENT_CACHE_SECONDS)
    return lesson if lesson.version_id == version_id else None


def player_content(*, version_id: int, lesson_id: int) -> tuple[Outline, Lesson | None]:
    """The outline of a version and one of its lessons (None when not in it): from this
    process's memory when the version is frozen and they were read here before, else from the
    cache in one round trip; what is missing is read as lesson_outline and player_lesson do."""
    outline_key, lesson_key = outline_cache_key(version_id), lesson_cache_key(lesson_id)
    outline: Outline | None = _frozen_local.get(outline_key)
    lesson: Lesson | None = _frozen_local.get(lesson_key)
    if outline is None or lesson is None:
        found = cache.get_many([outline_key, lesson_key])
        outline = found.get(outline_key)
        if outline is None:
            outline = lesson_outline(version_id=version_id)
        lesson = found.get(lesson_key)
        if lesson is None:
            lesson = player_lesson(lesson_id=lesson_id, version_id=version_id)
        if outline.frozen and lesson is not None and lesson.version_id == version_id:
            # Only a lesson of the frozen version: a lesson of an unfrozen one may change.
            _frozen_local.put(outline_key, outline)
            _frozen_local.put(lesson_key, lesson)
    return outline, lesson if lesson is not None and lesson.version_id == version_id else None


@dataclass
class PlayerEnrollment:
    """What the lesson player needs of a learner's enrolment, with its progress per lesson
    ({lesson id: (status, position in seconds)}), read in one query (player_enrollment)."""

    pk: int
    registration: Any
    status: str
    version_id: int
    progress_pct: int
    last_lesson_id: int | None
    last_activity_at: Any
    course_title: dict[str, str]
    language: str
    progress: dict[int, tuple[str, int]]
    # The course's code (its xAPI activity id), for the statements of a first view.
    course_code: str = ""
    # Whose enrolment it is (courses.player_state serves a kept state only to them).
    user_id: int = 0

    def follow(self, enrollment: Enrollment) -> None:
        """Take the enrolment's state after a visit wrote it (status, %, resume point)."""
        self.status = enrollment.status
        self.progress_pct = enrollment.progress_pct
        self.last_lesson_id = enrollment.last_lesson_id
        self.last_activity_at = enrollment.last_activity_at


def progress_states(*, enrollment_id: int) -> dict[int, tuple[str, int]]:
    """{lesson id: (status, position in seconds)} of an enrolment's progress rows."""
    rows = LessonProgress.objects.filter(enrollment_id=enrollment_id).values_list(
        "lesson_id", "status", "position_seconds"
    )
    return {lesson: (state, seconds or 0) for lesson, state, seconds in rows}


# One statement for the player's hot path: the enrolment (only the learner's own), its course's
# title and language, and its progress rows aggregated as JSON. Raw SQL: building the equivalent
# ORM query costs more CPU than the database spends answering it.
_PLAYER_SQL = f"""
SELECT e.id, e.registration, e.status, e.version_id, e.progress_pct, e.last_lesson_id,
       e.last_activity_at, c.title, c.default_language, c.code,
       (SELECT COALESCE(json_agg(json_build_array(p.lesson_id, p.status, p.position_seconds)),
                        '[]'::json)
          FROM {LessonProgress._meta.db_table} p WHERE p.enrollment_id = e.id)
  FROM {Enrollment._meta.db_table} e
  JOIN {CourseRun._meta.db_table} r ON r.id = e.run_id
  JOIN {Course._meta.db_table} c ON c.id = r.course_id
 WHERE e.registration = %s AND e.user_id = %s
"""  # noqa: S608 - table names from the models, values as parameters


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, (str, bytes)) else value


def player_enrollment(*, registration: Any, user_id: int) -> PlayerEnrollment | None:
    """The learner's own enrolment with this registration and its progress (one query), or
    None when there is none (someone else's registration included)."""
    if connection.vendor != "postgresql":  # the JSON aggregate is PostgreSQL's (SQLite laptops)
        return _player_enrollment_orm(registration=registration, user_id=user_id)
    with bound_cursor(prepare=True) as cursor:
        field = Enrollment._meta.get_field("registration")
        cursor.execute(_PLAYER_SQL, [field.get_db_prep_value(registration, connection), user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    (pk, reg, status, version_id, pct, last_lesson_id, last_activity_at, title, language, code,
     progress) = row  # fmt: skip
    return PlayerEnrollment(
        pk=pk,
        registration=_uuid(reg),
        status=status,
        version_id=version_id,
        progress_pct=pct,
        last_lesson_id=last_lesson_id,
        last_activity_at=last_activity_at,
        course_title=_json(title) or {},
        language=language,
        progress={lesson: (state, seconds or 0) for lesson, state, seconds in _json(progress)},
        course_code=code,
        user_id=user_id,
    )


def _player_enrollment_orm(*, registration: Any, user_id: int) -> PlayerEnrollment | None:
    """player_enrollment in two ORM queries, for databases other than PostgreSQL."""
    enrollment = (
        Enrollment.objects.select_related("run__course")
        .filter(registration=registration, user_id=user_id)
        .first()
    )
    if enrollment is None:
        return None
    return PlayerEnrollment(
        pk=enrollment.pk,
        registration=enrollment.registration,
        status=enrollment.status,
        version_id=enrollment.version_id,
        progress_pct=enrollment.progress_pct,
        last_lesson_id=enrollment.last_lesson_id,
        last_activity_at=enrollment.last_activity_at,
        course_title=enrollment.run.course.title or {},
        language=enrollment.run.course.default_language,
        progress=progress_states(enrollment_id=enrollment.pk),
        course_code=enrollment.run.course.code,
        user_id=user_id,
    )


def lesson_progress_map(*, enrollment: Enrollment) -> dict[int, LessonProgress]:
    return {p.lesson_id: p for p in LessonProgress.objects.filter(enrollment_id=enrollment.pk)}


def run_roster(*, run: CourseRun) -> QuerySet[Enrollment]:
    """The people of a run, by name."""
    return (
        Enrollment.objects.filter(run_id=run.pk)
        .select_related("user", "institution")
        .order_by("user__full_name", "pk")
    )


def seated_roster(*, run: CourseRun) -> QuerySet[Enrollment]:
    return run_roster(run=run).filter(
        status__in=[Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED]
    )


def session_marks(*, session: Session) -> dict[int, str]:
    return dict(
        AttendanceRecord.objects.filter(session_id=session.pk).values_list(
            "enrollment_id", "status"
        )
    )


def teaching_runs(*, user: Any) -> QuerySet[CourseRun]:
    """The runs a person teaches or supervises (all runs of their institutions for a
    coordinator, everything for DPS)."""
    scope = get_scope(user)
    runs = CourseRun.objects.select_related("course", "host_institution")
    if scope.is_dps:
        return runs.order_by("-starts_on", "code")
    condition = Q(run_instructors__user_id=user.pk) | Q(supervisor_id=user.pk)
    if scope.coordinated_paths:
        condition |= scope.institution_filter("host_institution")
    return runs.filter(condition).distinct().order_by("-starts_on", "code")


def institution_enrollments(*, user: Any, status: str = "", run: str = "") -> QuerySet[Enrollment]:
    """Enrolments of officers of the institutions the person coordinates."""
    scope = get_scope(user)
    rows = Enrollment.objects.filter(scope.institution_filter("institution"))
    if status:
        rows = rows.filter(status=status)
    if run:
        rows = rows.filter(run__code=run)
    return rows.select_related(
        "user", "run__course", "run__host_institution", "institution"
    ).order_by("-enrolled_at", "-pk")


def officers_to_enrol(
    *, user: Any, institution_id: int | None = None, unit_id: int | None = None, query: str = ""
) -> QuerySet[User]:
    """Active officers the coordinator may enrol, optionally narrowed (bulk enrolment)."""
    scope = get_scope(user)
    officers = User.objects.filter(status=User.Status.ACTIVE).filter(
        scope.institution_filter("institution")
    )
    if institution_id:
        officers = officers.filter(institution_id=institution_id)
    if unit_id:
        officers = officers.filter(unit_id=unit_id)
    if query:
        officers = officers.filter(Q(full_name__icontains=query) | Q(email__icontains=query))
    return officers.select_related("institution").order_by("full_name", "pk")


def api_enrollments(*, user: Any) -> QuerySet[Enrollment]:
    """Enrolments the API shows: one's own, plus those of the institutions one coordinates."""
    scope = get_scope(user)
    condition = Q(user_id=user.pk)
    if scope.is_dps:
        condition = Q()
    elif scope.coordinated_paths:
        condition |= scope.institution_filter("institution")
    return (
        Enrollment.objects.filter(condition)
        .select_related("user", "run__course")
        .order_by("-enrolled_at", "-pk")
    )


def officers_reached_by_replication(*, run: CourseRun) -> int:
    """Officers enrolled in runs replicated from this one (and their replications in turn)."""
    total = 0
    frontier = [run.pk]
    seen: set[int] = set()
    while frontier:
        children = list(
            CourseRun.objects.filter(replicated_from_id__in=frontier)
            .exclude(pk__in=seen)
            .values_list("pk", "active_count")
        )
        seen.update(frontier)
        total += sum(count for _pk, count in children)
        frontier = [pk for pk, _count in children]
    return total


def eligible_supervisors(*, course: Course, trainer: Any) -> QuerySet[User]:
    """The experts who may supervise a replicated run of `course`: the lead instructors and
    assistants of its train-the-trainers runs (never the trainer themself)."""
    return (
        User.objects.filter(
            status=User.Status.ACTIVE,
            run_assignments__run__course_id=course.pk,
            run_assignments__run__qualifies_trainers=True,
            run_assignments__role__in=[RunInstructor.Role.LEAD, RunInstructor.Role.ASSISTANT],
        )
        .exclude(pk=trainer.pk)
        .distinct()
        .order_by("full_name", "pk")
    )


def supervised_runs(*, user: Any) -> QuerySet[CourseRun]:
    """The replicated runs a supervising expert oversees, with their trainers and the number
    of observations recorded."""
    return (
        CourseRun.objects.filter(supervisor_id=user.pk, replicated_from__isnull=False)
        .select_related("course", "host_institution")
        .annotate(observation_count=Count("observations"))
        .prefetch_related(
            Prefetch(
                "run_instructors",
                queryset=RunInstructor.objects.filter(role=RunInstructor.Role.TRAINER)
                .select_related("user")
                .order_by("user__full_name"),
                to_attr="trainers",
            )
        )
        .order_by("-starts_on", "code")
    )


def authorable_courses(*, user: Any) -> QuerySet[Course]:
    """The courses a person may edit: those their coordinated institutions own (all for DPS)."""
    scope = get_scope(user)
    return (
        Course.objects.filter(scope.institution_filter("owner_institution"))
        .select_related("owner_institution", "current_version")
        .order_by("code")
    )


def coordinated_institutions(*, user: Any) -> QuerySet[Institution]:
    """The institutions a person coordinates, with the units below them (all for DPS)."""
    scope = get_scope(user)
    condition = Q() if scope.is_dps else Q(pk__in=[])
    for prefix in scope.coordinated_paths:
        condition |= Q(path__startswith=prefix)
    return Institution.objects.filter(condition, is_active=True).order_by("name")


def assignable_instructors(*, user: Any) -> QuerySet[User]:
    """People with the instructor role in the institutions the person coordinates (any for DPS)."""
    scope = get_scope(user)
    rows = RoleAssignment.objects.filter(role=Role.INSTRUCTOR)
    if not scope.is_dps:
        rows = rows.filter(scope.institution_filter("institution"))
    return User.objects.filter(pk__in=rows.values("user_id"), status=User.Status.ACTIVE).order_by(
        "full_name", "pk"
    )


def version_content(*, version_id: int | None) -> list[Module]:
    """The modules of a version in order, each with its lessons in order (two queries)."""
    if version_id is None:
        return []
    return list(
        Module.objects.filter(version_id=version_id)
        .prefetch_related(Prefetch("lessons", queryset=Lesson.objects.order_by("position", "pk")))
        .order_by("position", "pk")
    )
