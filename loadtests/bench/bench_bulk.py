"""Benchmark of the bulk work of coordinators and instructors, as the pages do it: a coordinator
enrols the officers matching a search in a run with one click ("everyone matching"), then clicks
again; past the threshold the click is a background job, whose worker's part is timed here; an
instructor marks a whole on-site session present in one tap, then corrects it, and releases a
practical evaluation's grades.

Through Django's test client in-process (the whole request: permission, service, the dashboards'
counters after commit; no HTTP server or network), on the configured PostgreSQL. Each run makes
its own academy, officers and runs, so that a second run measures the same work.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loadtests.bench.harness import counted_queries, new_client


def _seed(officers: int, at_once: int, stamp: str) -> dict[str, Any]:
    """An academy with a coordinator, an instructor and `officers` officers (the first `at_once`
    found by the search "Agente <stamp> A", the others by "… B"); a virtual run it hosts and an
    on-site run with one session (a course of one reading)."""
    from courses.models import CourseRun, Lesson, RunInstructor, Session
    from lms.accounts.models import Institution, MemberState, RoleAssignment, User
    from loadtests.skeleton import course_of_lessons

    state = MemberState.objects.order_by("code").first() or MemberState.objects.create(
        code="XX", name_en="Bench", name_es="Banco", name_pt="Banco", name_fr="Banc"
    )
    academy = Institution.objects.create(
        member_state=state, name=f"Bench academy {stamp}", short_name="bench"
    )
    coordinator = User.objects.create(
        email=f"bulk-coordinator-{stamp}@bench.lms", full_name="Bench coordinator",
        institution=academy, status="active", password="!",
    )  # fmt: skip
    RoleAssignment.objects.create(user=coordinator, role="coordinator", institution=academy)
    instructor = User.objects.create(
        email=f"bulk-instructor-{stamp}@bench.lms", full_name="Bench instructor",
        institution=academy, status="active", password="!",
    )  # fmt: skip
    User.objects.bulk_create(
        User(
            email=f"bulk-{stamp}-{i}@bench.lms",
            full_name=f"Agente {stamp} {'A' if i < at_once else 'B'}{i:05}",
            institution=academy, member_state=state, status="active", password="!",
        )
        for i in range(officers)
    )  # fmt: skip
    course, version = course_of_lessons(
        course_code=f"bench-bulk-{stamp}", title={"es": "Curso masivo", "en": "Bulk course"},
        published=True,
        lessons=[(Lesson.Kind.TEXT, {"en": "Reading"}, {"en": "<p>Reading.</p>"})],
    )  # fmt: skip
    runs = {
        mode: CourseRun.objects.create(
            course=course,
            version=version,
            code=f"bench-bulk-{stamp}-{mode}",
            mode=mode,
            status=CourseRun.Status.OPEN,
            host_institution=academy,
            self_enrolment=False,
        )  # fmt: skip
        for mode in (CourseRun.Mode.VIRTUAL, CourseRun.Mode.ONSITE)
    }
    RunInstructor.objects.create(run=runs[CourseRun.Mode.ONSITE], user=instructor)
    now = timezone.now()
    session = Session.objects.create(
        run=runs[CourseRun.Mode.ONSITE], title={"en": "Day 1"}, starts_at=now,
        ends_at=now + timedelta(hours=8),
    )  # fmt: skip
    return {
        "coordinator": coordinator, "instructor": instructor, "runs": runs,
        "session": session, "query": f"Agente {stamp} A", "rest": f"Agente {stamp} B",
    }  # fmt: skip


PAGE = 50  # officers on a page of the practical evaluation


def _practical(
    seed: dict[str, Any], officers: list[Any], stamp: str
) -> tuple[Any, Any, dict[str, Any]]:
    """A practical evaluation (one checklist question) in a run the instructor teaches, recorded
    for `officers` but the first page's and not yet released: (run, assessment, the form data
    of the first page's officers marked, as the page posts it)."""
    from assessments.models import AssessmentSection, Question, QuestionCategory
    from assessments.services import record_practical
    from courses.models import RunInstructor
    from courses.services import enrol_many
    from loadtests.skeleton import assessment_run

    run, assessment, _made = assessment_run(
        course_code=f"bench-practical-{stamp}", run_code=f"bench-practical-{stamp}",
        title={"es": "Evaluación práctica", "en": "Practical evaluation"},
        lesson_title={"es": "Práctica", "en": "Practical"}, kind="practical",
        time_limit_minutes=None, published=True,
    )  # fmt: skip
    assessment.auto_release = False
    assessment.save(update_fields=["auto_release"])
    category = QuestionCategory.objects.create(course=run.course, slug="field")
    question = Question.objects.create(
        course=run.course, category=category, kind=Question.Kind.PRACTICAL,
        text={"en": "Secures the scene"}, points=3,
        data={"checklist": [{"id": "c1", "text": {"en": "Cordon"}, "points": 2},
                            {"id": "c2", "text": {"en": "Backup"}, "points": 1}]},
    )  # fmt: skip
    AssessmentSection.objects.create(assessment=assessment, category=category, count=1)
    RunInstructor.objects.create(run=run, user=seed["instructor"])
    outcome = enrol_many(users=officers, run=run, actor=seed["coordinator"])
    page, rest = outcome.enrolled[:PAGE], outcome.enrolled[PAGE:]
    marks = {e.pk: {question.pk: {"c1"} if e.pk % 2 else {"c1", "c2"}} for e in rest}
    record_practical(assessment=assessment, run=run, actor=seed["instructor"], marks=marks)
    form: dict[str, Any] = {"officer": [str(e.pk) for e in page]}
    form.update({f"m-{e.pk}-{question.pk}": ["c1", "c2"] for e in page})
    form.update({f"c-{e.pk}": "Cordon and backup observed" for e in page})
    return run, assessment, form


def _timed(client: Client, url: str, data: dict[str, Any]) -> tuple[float, int, int]:
    """(milliseconds, queries, status) of one POST."""
    with counted_queries() as captured:
        began = time.perf_counter()
        response = client.post(url, data)
        elapsed = (time.perf_counter() - began) * 1000
    return elapsed, len(captured), response.status_code


def run(options: dict[str, Any]) -> str:
    from courses.models import AttendanceRecord, CourseRun, Enrollment, EnrolmentJob
    from courses.services import enrol_in_background_from, enrol_many, run_enrolment_job
    from lms.accounts.models import User

    out = options["stdout"]
    scale = float(options.get("scale", 1.0))
    at_once = min(max(100, int(1500 * scale)), enrol_in_background_from() - 1)
    officers = at_once + max(1000, int(10000 * scale))
    roster = max(30, int(300 * scale))
    if not settings.IS_POSTGRES:
        return "## Bulk work of coordinators and instructors\n\nNot measured: needs PostgreSQL.\n"
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    seed = _seed(officers, at_once, stamp)
    out.write(f"bulk: {officers} officers ready")
    virtual, onsite = seed["runs"][CourseRun.Mode.VIRTUAL], seed["runs"][CourseRun.Mode.ONSITE]
    coordinator = new_client()
    coordinator.force_login(seed["coordinator"])
    coordinator.get(reverse("courses:enrol_officers", args=[virtual.code]))  # signed in, warm
    enrol_url = reverse("courses:enrol_officers", args=[virtual.code])
    everyone = {"everyone_matching": "1", "q": seed["query"]}
    load_before = os.getloadavg()[0]
    rows = []
    rows.append((f"enrol everyone matching ({at_once} officers, at once)", *_timed(coordinator, enrol_url, everyone)))  # fmt: skip
    rows.append(
        ("the same click again (all already there)", *_timed(coordinator, enrol_url, everyone))
    )
    # Past the threshold the click queues a job; here the worker's part is run in-process.
    job = EnrolmentJob.objects.create(
        run=virtual, requested_by=seed["coordinator"], query=seed["rest"]
    )
    began = time.perf_counter()
    job = run_enrolment_job(job_id=job.pk)
    job_seconds = time.perf_counter() - began
    enrolled = Enrollment.objects.filter(run=virtual, status="active").count()
    seated = list(
        User.objects.filter(institution=seed["session"].run.host_institution_id)
        .filter(full_name__startswith=seed["query"])
        .order_by("pk")[:roster]
    )
    enrol_many(users=seated, run=onsite, actor=seed["coordinator"])
    instructor = new_client()
    instructor.force_login(seed["instructor"])
    attendance_url = reverse("courses:attendance", args=[onsite.code, seed["session"].pk])
    instructor.get(attendance_url)
    rows.append(
        (f"attendance: all {roster} present in one tap", *_timed(instructor, attendance_url, {"all": "present"}))
    )  # fmt: skip
    late = {
        f"e{pk}": "late"
        for pk in Enrollment.objects.filter(run=onsite).values_list("pk", flat=True)[: roster // 3]
    }
    rows.append(
        (f"attendance corrected ({len(late)} late)", *_timed(instructor, attendance_url, {"all": "present", **late}))
    )  # fmt: skip
    practical_run, practical, page = _practical(seed, seated, stamp)
    practical_url = reverse("assessments:practical", args=[practical_run.code, practical.pk])
    instructor.get(practical_url)
    rows.append(
        (f"a practical evaluation's page recorded ({PAGE} officers)", *_timed(instructor, practical_url, page))
    )  # fmt: skip
    release_url = reverse("assessments:release", args=[practical_run.code, practical.pk])
    rows.append(
        (f"release a practical evaluation's grades ({roster} officers)", *_timed(instructor, release_url, {}))
    )  # fmt: skip
    marked = AttendanceRecord.objects.filter(session=seed["session"]).count()
    load_after = os.getloadavg()[0]
    lines = [
        "## Bulk work of coordinators and instructors",
        "",
        f"Measured by `manage.py run_benchmarks --only bulk --scale {scale:g}`: the pages' POSTs "
        "through Django's test client in-process (permission, service, the dashboards' counters "
        "after commit; no HTTP server or network), PostgreSQL, on this 2-core machine (load "
        f"average {load_before:.1f} before, {load_after:.1f} after). A new academy of {officers} "
        "officers each run.",
        "",
        "| Request | ms | Queries | Status |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {name} | {ms:.0f} | {queries} | {status} |" for name, ms, queries, status in rows]
    lines += [
        "",
        f"From {enrol_in_background_from():,} officers the click queues a background job "
        f"(courses.EnrolmentJob); its worker's part, run here in-process for the other "
        f"{job.total:,} officers: {job_seconds:.1f} s, {job.total / job_seconds:,.0f} officers a "
        f"second, state {job.state}, {job.enrolled:,} enrolled, in batches of 1,000.",
        "",
        f"Enrolled: {enrolled:,} of {officers:,}; attendance records: {marked} of {roster}. "
        "Before 2026-12-06 both were one officer after the other: about 22 queries and 17 ms an "
        "officer to enrol (200 officers: 4,363 queries, 3.4 s, in "
        "tests/courses/test_enrol_many.py's terms), 11 queries an officer to mark present (the "
        "page for 60 officers: 685 queries); releasing grades, about 17 queries and 13 ms an "
        "officer (40 officers: 684 queries), and so was recording a practical evaluation's page (the "
        "service 89 queries for 5 officers, 684 for 40; since 2026-12-06's fourth session 14 "
        "for any number, the page's POST above included), and the release above, which completes each "
        "officer's course, 3,800 queries and 5.6 s on 2026-12-06 before the completions were "
        "written together (and 337 queries before the completions' institutions were read "
        "with them). After the commit each completion is announced live, and each "
        "certificate is a worker's task.",
    ]
    return "\n".join(lines) + "\n"
