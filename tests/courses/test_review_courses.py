"""Review of the courses app's on-site and enrolment side: attendance figures that follow the
run's schedule, an on-site course with nothing to read online completed by attendance, an
observation sent twice saved once, and a withdrawal that did not happen not told as one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from courses import services
from courses.models import CourseRun, Enrollment, Lesson, RunInstructor
from tests.courses.factories import RunFactory, add_sessions

pytestmark = pytest.mark.django_db


@pytest.fixture
def onsite(institution: Any, instructor: Any) -> CourseRun:
    """An on-site run of `institution`, taught by `instructor`."""
    run = RunFactory(mode=CourseRun.Mode.ONSITE, host_institution=institution)
    RunInstructor.objects.create(run=run, user=instructor)
    return run


def _at(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


# 1. A session added to the schedule counts in the attendance already taken ---------------------


def test_a_session_added_later_counts_in_the_attendance_already_taken(
    client: Client, onsite: CourseRun, coordinator: Any, instructor: Any, learner: Any
) -> None:
    """The roster's "Attendance (% of sessions)" counts the sessions attended out of all the
    run's sessions: one attended, then a second one planned, is 50 %, not the 100 % of before."""
    enrollment = services.enrol(user=learner, run=onsite, actor=coordinator)
    first = add_sessions(onsite, 1)[0]
    client.force_login(instructor)
    client.post(reverse("courses:attendance", args=[onsite.code, first.pk]), {"all": "present"})
    enrollment.refresh_from_db()
    assert enrollment.attendance_pct == 100
    client.force_login(coordinator)
    start = timezone.now() + timedelta(days=2)
    data = {"title": "Día 2", "starts_at": _at(start), "ends_at": _at(start + timedelta(hours=2))}
    assert client.post(reverse("courses:author_run", args=[onsite.code]), data).status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.attendance_pct == 50
    roster = client.get(reverse("courses:roster", args=[onsite.code])).text
    assert "<td>50</td>" in roster


# 2. An on-site course with nothing to read online is completed by attendance --------------------


def test_an_on_site_course_with_nothing_required_online_completes_by_attendance(
    client: Client, onsite: CourseRun, coordinator: Any, instructor: Any, learner: Any
) -> None:
    """Taught in the room: its lessons are optional reading (none required), the version asks
    for 100 % attendance. The officer who attended every session completes, without opening any
    lesson; the one absent does not."""
    Lesson.objects.filter(version=onsite.version).update(is_required=False)
    onsite.version.min_attendance_pct = 100
    onsite.version.save(update_fields=["min_attendance_pct"])
    present = services.enrol(user=learner, run=onsite, actor=coordinator)
    absent = services.enrol(
        user=type(learner).objects.create_user("absent@example.org", None, full_name="Absent",
                                               institution=learner.institution),
        run=onsite, actor=coordinator,
    )  # fmt: skip
    session = add_sessions(onsite, 1)[0]
    client.force_login(instructor)
    url = reverse("courses:attendance", args=[onsite.code, session.pk])
    response = client.post(url, {f"e{present.pk}": "present", f"e{absent.pk}": "absent"})
    assert response.status_code == 302
    present.refresh_from_db()
    absent.refresh_from_db()
    assert (present.status, present.attendance_pct) == (Enrollment.Status.COMPLETED, 100)
    assert (absent.status, absent.attendance_pct) == (Enrollment.Status.ACTIVE, 0)
    onsite.refresh_from_db()
    assert onsite.completed_count == 1


# 3. An observation sent twice is saved once ------------------------------------------------------


@pytest.fixture
def replicated(ttt: dict[str, Any]) -> dict[str, Any]:
    """A replicated run of `institution` with its trainer and supervising expert."""
    run = services.create_replicated_run(
        source=ttt["source"], trainer=ttt["trainer"], supervisor=ttt["expert"], actor=ttt["trainer"]
    )
    return {"run": run, "expert": ttt["expert"], "trainer": ttt["trainer"]}


@pytest.mark.parametrize("page", ["courses:supervise_run", "courses:observe"])
def test_an_observation_sent_twice_is_saved_once(
    client: Client, replicated: dict[str, Any], page: str
) -> None:
    from courses.models import SupervisionObservation

    run, expert, trainer = replicated["run"], replicated["expert"], replicated["trainer"]
    client.force_login(expert)
    url = reverse(page, args=[run.code])
    data = {"trainer": str(trainer.pk), "rating": "4", "feedback": "Clear, well paced."}
    first = client.post(url, data)
    assert first.status_code == 302
    again = client.post(url, data, follow=True)
    assert again.redirect_chain == [(first["Location"], 302)]
    told = [str(message) for message in again.context["messages"]]
    assert "This observation was already saved." in told
    assert SupervisionObservation.objects.filter(run=run).count() == 1
    # Other feedback is another observation.
    assert client.post(url, {**data, "feedback": "Good use of cases."}).status_code == 302
    assert SupervisionObservation.objects.filter(run=run).count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_observation_sent_three_times_at_once_is_saved_once(
    replicated: dict[str, Any], require_postgres: None
) -> None:
    import threading

    from django.db import connection

    from courses.models import SupervisionObservation

    run, expert, trainer = replicated["run"], replicated["expert"], replicated["trainer"]
    clients = [Client() for _ in range(3)]
    for each in clients:
        each.force_login(expert)
    url = reverse("courses:supervise_run", args=[run.code])
    data = {"trainer": str(trainer.pk), "rating": "4", "feedback": "Clear, well paced."}
    barrier = threading.Barrier(len(clients))
    answers: list[Any] = [None] * len(clients)

    def post(index: int) -> None:
        try:
            barrier.wait()
            answers[index] = clients[index].post(url, data).status_code
        except BaseException as exc:  # noqa: BLE001 - given back to the test
            answers[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [302, 302, 302]
    assert SupervisionObservation.objects.filter(run=run).count() == 1


# 4. Withdrawing from a page shown before the enrolment was decided or completed -----------------


@pytest.mark.parametrize("decided", ["rejected", "completed"])
def test_withdrawing_what_was_meanwhile_decided_does_not_say_withdrawn(
    client: Client, onsite: CourseRun, coordinator: Any, learner: Any, decided: str
) -> None:
    """My learning offered "Withdraw" while the request was pending (or the course under way);
    the coordinator rejected it (or the last session completed it) before the click: nothing is
    withdrawn, and the page must not say it was."""
    CourseRun.objects.filter(pk=onsite.pk).update(requires_approval=True)
    onsite.refresh_from_db()
    enrollment = services.enrol(user=learner, run=onsite, actor=learner)
    assert enrollment.status == Enrollment.Status.PENDING
    if decided == "rejected":
        services.reject_enrolment(enrollment=enrollment, actor=coordinator)
    else:
        Enrollment.objects.filter(pk=enrollment.pk).update(status=Enrollment.Status.COMPLETED)
    client.force_login(learner)
    response = client.post(reverse("courses:withdraw", args=[enrollment.registration]), follow=True)
    told = [str(message) for message in response.context["messages"]]
    enrollment.refresh_from_db()
    assert enrollment.status == decided
    assert "You have withdrawn from the course." not in told
    assert told == [
        f"Nothing was withdrawn: your enrolment is “{enrollment.get_status_display()}”."
    ]
