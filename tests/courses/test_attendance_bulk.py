"""Taking attendance for a whole session is bulk work: its queries do not grow with the roster.

An on-site course seats a few hundred officers; the instructor marks them all present in one
tap. The records, their statements, the attendance rates and the completion check are written in
a fixed number of round trips, whatever the number of officers; completing those who met every
rule still works, each once.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses import services
from courses.models import AttendanceRecord, CourseRun, Enrollment, EnrollmentEvent, Lesson
from lms.accounts.models import User
from lms.xapi.models import Statement
from tests.courses.factories import RunFactory, add_sessions, assign_instructor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _onsite(officers: int, sessions: int = 2) -> tuple[CourseRun, list[Any], Any, list[Enrollment]]:
    run = RunFactory(mode=CourseRun.Mode.ONSITE)
    teacher = assign_instructor(run)
    taught = add_sessions(run, sessions)
    enrollments = [
        Enrollment.objects.create(user=UserFactory(), run=run, version=run.version)
        for _ in range(officers)
    ]
    return run, taught, teacher, enrollments


def _queries(session: Any, marks: dict[int, str], teacher: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        services.record_attendance(session=session, marks=marks, actor=teacher)
    return len(captured)


def test_marking_a_session_costs_the_same_for_3_and_40_officers() -> None:
    counts = []
    for officers in (3, 40):
        _run, sessions, teacher, enrollments = _onsite(officers)
        marks = {e.pk: "present" for e in enrollments}
        counts.append(_queries(sessions[0], marks, teacher))
        # A correction of the same session (some late, one excused) updates, and costs the same.
        marks = {e.pk: ("late" if i % 2 else "present") for i, e in enumerate(enrollments)}
        marks[enrollments[0].pk] = "excused"
        counts.append(_queries(sessions[0], marks, teacher))
    first_small, again_small, first_large, again_large = counts
    assert first_large == first_small, counts
    assert again_large == again_small, counts
    # The dashboards' counters (after commit) included: about two dozen in all.
    assert first_large <= 25, counts


def test_bulk_marks_are_written_once_with_rates_and_statements() -> None:
    _run, sessions, teacher, enrollments = _onsite(5)
    marks = {e.pk: "present" for e in enrollments}
    marks[enrollments[1].pk] = "absent"
    marks[enrollments[2].pk] = "late"
    records = services.record_attendance(session=sessions[0], marks=marks, actor=teacher)
    assert sorted(r.enrollment_id for r in records) == sorted(marks)
    assert all(r.pk for r in records)
    # Marking again (a correction) keeps one record per officer and session.
    marks[enrollments[1].pk] = "excused"
    again = services.record_attendance(session=sessions[0], marks=marks, actor=teacher)
    assert {r.pk for r in again} == {r.pk for r in records}
    assert AttendanceRecord.objects.filter(session=sessions[0]).count() == 5
    assert AttendanceRecord.objects.get(enrollment=enrollments[1]).status == "excused"
    rates = dict(Enrollment.objects.values_list("pk", "attendance_pct"))
    # Two sessions: attended one of two (50 %); the excused one expects only the other (0 %).
    assert rates[enrollments[0].pk] == 50
    assert rates[enrollments[2].pk] == 50
    assert rates[enrollments[1].pk] == 0
    attended = Statement.objects.filter(verb_id="http://adlnet.gov/expapi/verbs/attended")
    # One statement per officer present or late (late then present would be a second event).
    assert attended.count() == 4


def test_the_last_session_completes_those_who_met_every_rule_once() -> None:
    run, sessions, teacher, enrollments = _onsite(4, sessions=1)
    run.version.min_attendance_pct = 100
    run.version.save(update_fields=["min_attendance_pct"])
    # An on-site course taught in the room: nothing to read online, attendance decides.
    Lesson.objects.filter(version=run.version).update(is_required=False)
    Enrollment.objects.filter(pk__in=[e.pk for e in enrollments]).update(progress_pct=100)
    marks = {e.pk: "present" for e in enrollments}
    marks[enrollments[3].pk] = "absent"
    services.record_attendance(session=sessions[0], marks=marks, actor=teacher)
    status = dict(Enrollment.objects.values_list("pk", "status"))
    assert [status[e.pk] for e in enrollments] == ["completed"] * 3 + ["active"]
    services.record_attendance(session=sessions[0], marks=marks, actor=teacher)
    assert EnrollmentEvent.objects.filter(to_status="completed").count() == 3
    run.refresh_from_db()
    assert run.completed_count == 3


def test_the_page_marks_everyone_present_in_one_tap_for_a_large_roster() -> None:
    run, sessions, teacher, enrollments = _onsite(60)
    client = Client()
    client.force_login(teacher)
    url = reverse("courses:attendance", args=[run.code, sessions[0].pk])
    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, {"all": "present", f"e{enrollments[0].pk}": "late"})
    assert response.status_code == 302
    assert len(captured) <= 30, len(captured)
    statuses = dict(
        AttendanceRecord.objects.filter(session=sessions[0]).values_list("enrollment_id", "status")
    )
    assert len(statuses) == 60
    assert statuses[enrollments[0].pk] == "late"
    assert statuses[enrollments[59].pk] == "present"


def test_a_sheet_of_more_than_a_thousand_officers_is_accepted() -> None:
    """Once marked, the sheet sends a field per officer: past Django's default of 1,000 fields
    the whole sheet was refused with a 400."""
    run, sessions, teacher, _few = _onsite(0)
    officers = User.objects.bulk_create(
        User(email=f"agente{n}@sheet.test", full_name=f"Agente {n}", password="!")
        for n in range(1100)
    )
    seated = Enrollment.objects.bulk_create(
        Enrollment(user=officer, run=run, version=run.version, status="active")
        for officer in officers
    )
    client = Client()
    client.force_login(teacher)
    url = reverse("courses:attendance", args=[run.code, sessions[0].pk])
    sheet = {f"e{enrollment.pk}": "present" for enrollment in seated}
    sheet[f"e{seated[0].pk}"] = "late"
    response = client.post(url, {"all": "", **sheet})
    assert response.status_code == 302
    marks = AttendanceRecord.objects.filter(session=sessions[0])
    assert marks.count() == 1100
    assert marks.get(enrollment=seated[0]).status == "late"


@pytest.mark.django_db(transaction=False)
def test_the_last_session_completes_3_or_25_officers_in_the_same_queries() -> None:
    """The marking's own work (in a test transaction, what runs after the commit does not: the
    dashboards' counters and the certificates' tasks, tested elsewhere)."""
    counts = []
    for officers in (3, 25):
        run, sessions, teacher, enrollments = _onsite(officers, sessions=1)
        Lesson.objects.filter(version=run.version).update(is_required=False)
        Enrollment.objects.filter(pk__in=[e.pk for e in enrollments]).update(progress_pct=100)
        marks = {e.pk: "present" for e in enrollments}
        counts.append(_queries(sessions[0], marks, teacher))
        statuses = set(Enrollment.objects.filter(run=run).values_list("status", flat=True))
        assert statuses == {"completed"}
    assert counts[0] == counts[1], counts
