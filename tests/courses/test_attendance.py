"""Attendance permissions: the run's instructor takes attendance; others are refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import translation

from courses import services
from courses.models import AttendanceRecord, CourseRun, Enrollment
from tests.courses.factories import RunFactory, add_sessions, assign_instructor

pytestmark = pytest.mark.django_db


@pytest.fixture
def onsite(learner: Any, instructor: Any) -> tuple[CourseRun, Any, Enrollment]:
    run = RunFactory(mode=CourseRun.Mode.ONSITE)
    assign_instructor(run, instructor)
    session = add_sessions(run, 2)[0]
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    return run, session, enrollment


def _url(run: CourseRun, session: Any) -> str:
    return reverse("courses:attendance", args=[run.code, session.pk])


def test_instructor_takes_attendance_in_bulk(client: Client, instructor: Any, onsite: Any) -> None:
    run, session, enrollment = onsite
    client.force_login(instructor)
    assert client.get(_url(run, session)).status_code == 200
    response = client.post(_url(run, session), {"all": "present"})
    assert response.status_code == 302
    assert AttendanceRecord.objects.get(enrollment=enrollment).status == "present"
    enrollment.refresh_from_db()
    assert enrollment.attendance_pct == 50


def test_instructor_of_another_run_cannot_take_attendance(client: Client, onsite: Any) -> None:
    run, session, enrollment = onsite
    other_run = RunFactory(mode=CourseRun.Mode.ONSITE)
    stranger = assign_instructor(other_run)
    client.force_login(stranger)
    assert client.get(_url(run, session)).status_code == 403
    assert client.post(_url(run, session), {"all": "present"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.record_attendance(session=session, marks={enrollment.pk: "late"}, actor=stranger)
    assert not AttendanceRecord.objects.exists()


@pytest.mark.parametrize("who", ["learner", "other_coordinator", "anonymous"])
def test_others_cannot_take_attendance(
    client: Client, onsite: Any, who: str, other_institution: Any
) -> None:
    from tests.factories import RoleAssignmentFactory, UserFactory

    run, session, _enrollment = onsite
    if who == "learner":
        client.force_login(_enrollment.user)
    elif who == "other_coordinator":
        person = UserFactory(institution=other_institution)
        RoleAssignmentFactory(user=person, role="coordinator", institution=other_institution)
        client.force_login(person)
    response = client.post(_url(run, session), {"all": "present"})
    assert response.status_code == (302 if who == "anonymous" else 403)
    assert not AttendanceRecord.objects.exists()


def test_host_coordinator_may_take_attendance(
    client: Client, coordinator: Any, institution: Any, onsite: Any
) -> None:
    run, session, enrollment = onsite
    run.host_institution = institution
    run.save()
    client.force_login(coordinator)
    assert client.post(_url(run, session), {f"e{enrollment.pk}": "late"}).status_code == 302


def test_an_unknown_status_is_refused_naming_the_field(
    client: Client, instructor: Any, onsite: Any
) -> None:
    run, session, enrollment = onsite
    client.force_login(instructor)
    response = client.post(_url(run, session), {f"e{enrollment.pk}": "asleep"})
    assert response.status_code == 400
    assert b"present, late, absent or excused" in response.content


def test_roster_and_csv_are_for_those_who_teach(
    client: Client, instructor: Any, learner: Any, onsite: Any
) -> None:
    run, _session, _enrollment = onsite
    client.force_login(instructor)
    assert client.get(reverse("courses:roster", args=[run.code])).status_code == 200
    csv = client.get(reverse("courses:progress_csv", args=[run.code]))
    body = b"".join(csv.streaming_content).decode()  # type: ignore[attr-defined]
    assert learner.full_name in body
    client.force_login(learner)
    assert client.get(reverse("courses:roster", args=[run.code])).status_code == 403
    assert client.get(reverse("courses:progress_csv", args=[run.code])).status_code == 403


def test_a_session_without_the_readers_language_is_named_in_the_runs(
    client: Client, instructor: Any, onsite: Any
) -> None:
    """A Portuguese reader of a Spanish run whose sessions are named in Spanish and English
    reads the Spanish name (the run's language), not the English one."""
    run, session, _enrollment = onsite
    run.language = "es"
    run.save(update_fields=["language"])
    session.title = {"es": "Sesión de apertura", "en": "Opening session"}
    session.save(update_fields=["title"])
    instructor.preferred_language = "pt"
    instructor.save(update_fields=["preferred_language"])
    client.force_login(instructor)
    for url in (_url(run, session), reverse("courses:roster", args=[run.code])):
        with translation.override("pt"):
            page = client.get(url).text
        assert "Sesión de apertura" in page, url
        assert "Opening session" not in page, url


def test_the_two_attendance_figures_say_what_they_count(
    client: Client,
    instructor: Any,
    dps_admin: Any,
    onsite: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """One session of two held, the officer present: 50 % of the run's sessions on the roster
    and the run's dashboard, a 100 % rate of the marks taken on the dashboard's figures; each
    page says which is which."""
    run, session, enrollment = onsite
    client.force_login(instructor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(run, session), {"all": "present"})
    roster = client.get(reverse("courses:roster", args=[run.code])).text
    assert "Attendance (% of sessions)" in roster
    assert 'aria-describedby="attendance-help"' in roster
    assert "out of all the run's sessions" in roster
    assert "<td>50</td>" in roster
    client.force_login(dps_admin)
    dashboard = client.get(reverse("dashboards:run", args=[run.pk])).text
    assert "<td>50</td>" in dashboard
    assert "out of all the run's sessions" in dashboard
    assert "100.0 %" in dashboard
    assert "out of the attendance marks taken so far" in dashboard
