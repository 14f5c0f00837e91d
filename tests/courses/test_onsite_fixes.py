"""On-site runs: seats that fit, replicated runs their trainer manages, sessions within the run's
dates, attendance once a session started, the roster's observation form, plural counts and
buttons that name whom they decide."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from courses import services
from courses.models import (
    Course,
    CourseRun,
    Enrollment,
    RunInstructor,
    Session,
    TrainerQualification,
)
from tests.courses.factories import RunFactory
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db


# 1. Seats the database can hold ---------------------------------------------------------------


def test_a_huge_capacity_is_a_field_error_not_a_crash(
    client: Client, coordinator: Any, course: Course, institution: Any
) -> None:
    client.force_login(coordinator)
    url = reverse("courses:author_run_new", args=[course.code])
    data = {"code": "dh-big", "mode": "onsite", "language": "es",
            "host_institution": str(institution.pk), "capacity": "99999999999999999999"}  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"capacity"}
    assert not CourseRun.objects.filter(code="dh-big").exists()
    assert client.post(url, {**data, "capacity": "100000"}).status_code == 302


# 2. The trainer who leads a replicated run manages that run -------------------------------------


def _days(n: int) -> str:
    return (timezone.localdate() + timedelta(days=n)).isoformat()


def _plan(expert: Any, **extra: Any) -> dict[str, Any]:
    return {
        "mode": "onsite", "starts_on": _days(10), "ends_on": _days(14),
        "venue": "Academia regional", "capacity": "30", "language": "es",
        "supervisor": str(expert.pk), **extra,
    }  # fmt: skip


@pytest.fixture
def ttt(institution: Any) -> dict[str, Any]:
    """A train-the-trainers run with its lead instructor (an eligible expert), and a trainer of
    `institution` it qualified."""
    source = RunFactory(qualifies_trainers=True)
    expert = UserFactory(full_name="Expert Eligible")
    RunInstructor.objects.create(run=source, user=expert, role=RunInstructor.Role.LEAD)
    trainer = UserFactory(institution=institution, full_name="Tina Trainer")
    TrainerQualification.objects.create(user=trainer, course=source.course, qualified_by_run=source)
    return {"source": source, "expert": expert, "trainer": trainer}


def _planned(client: Client, ttt: dict[str, Any]) -> CourseRun:
    """The trainer plans a replicated run from the page, as in the demo."""
    client.force_login(ttt["trainer"])
    url = reverse("courses:deliver", args=[ttt["source"].course.code])
    assert client.post(url, _plan(ttt["expert"])).status_code == 302
    return CourseRun.objects.get(replicated_from=ttt["source"])


def test_the_trainer_manages_the_replicated_run_they_planned(
    client: Client, ttt: dict[str, Any], institution: Any, other_institution: Any
) -> None:
    run = _planned(client, ttt)
    officer = UserFactory(institution=institution, full_name="Olga Officer")
    foreign = UserFactory(institution=other_institution, full_name="Fiona Foreign")
    roster = client.get(reverse("courses:roster", args=[run.code]))
    enrol_url = reverse("courses:enrol_officers", args=[run.code])
    sessions_url = reverse("courses:author_run", args=[run.code])
    assert enrol_url in roster.text
    assert sessions_url in roster.text
    # Sessions: planned by the trainer (who is not offered to assign instructors).
    sessions_page = client.get(sessions_url)
    assert sessions_page.status_code == 200
    assert "instructor-user" not in sessions_page.text
    response = client.post(
        sessions_url,
        {"title": "Día 1", "starts_at": f"{_days(10)}T09:00", "ends_at": f"{_days(10)}T12:00"},
    )
    assert response.status_code == 302
    assert Session.objects.filter(run=run).count() == 1
    # Officers: those of the run's host institution, not the trainer, not another institution's.
    page = client.get(enrol_url).text
    assert "Olga Officer" in page
    assert "Fiona Foreign" not in page
    assert "Tina Trainer" not in page
    response = client.post(enrol_url, {"officer": [str(officer.pk), str(foreign.pk)]})
    assert response.status_code == 302
    assert Enrollment.objects.get(run=run, user=officer).status == Enrollment.Status.ACTIVE
    assert not Enrollment.objects.filter(run=run, user=foreign).exists()
    with pytest.raises(PermissionDenied):
        services.enrol(user=foreign, run=run, actor=ttt["trainer"])
    # Requests: the run needs approval, and its trainer decides them.
    asking = UserFactory(institution=institution, full_name="Pablo Pending")
    assert services.enrol(user=asking, run=run, actor=asking).status == Enrollment.Status.PENDING
    pending = Enrollment.objects.get(run=run, user=asking)
    roster = client.get(reverse("courses:roster", args=[run.code])).text
    decide = reverse("courses:decide_enrolment", args=[run.code, pending.pk])
    assert decide in roster
    assert client.post(decide, {"decision": "approve"}).status_code == 302
    pending.refresh_from_db()
    assert pending.status == Enrollment.Status.ACTIVE
    # But not who else teaches it, nor the supervision of their own teaching.
    with pytest.raises(PermissionDenied):
        services.assign_instructor(
            actor=ttt["trainer"], run=run, user=UserFactory(), role="assistant"
        )
    with pytest.raises(PermissionDenied):
        services.record_observation(
            run=run, supervisor=ttt["trainer"], trainer=ttt["trainer"], feedback="Great."
        )
    # Nor the certificates of their own run: issued by the host institution's coordinators.
    from lms.accounts.permissions import has_perm

    assert not has_perm(ttt["trainer"], "certification.issue_run", run)


def test_the_trainer_does_not_enrol_in_their_own_run_as_a_learner(
    client: Client, ttt: dict[str, Any], coordinator: Any
) -> None:
    run = _planned(client, ttt)
    trainer = ttt["trainer"]
    course_page = client.get(reverse("courses:course", args=[run.course.code])).text
    assert "You teach this run as its trainer." in course_page
    assert reverse("courses:enrol", args=[run.code]) not in course_page
    response = client.post(reverse("courses:enrol", args=[run.code]), follow=True)
    assert "you cannot enrol in it as a learner" in response.text
    assert not Enrollment.objects.filter(run=run, user=trainer).exists()
    # Nor does their coordinator enrol them in it.
    with pytest.raises(services.EnrolmentError, match="Tina Trainer teaches this run"):
        services.enrol(user=trainer, run=run, actor=coordinator)
    with pytest.raises(services.EnrolmentError, match="Tina Trainer teaches this run"):
        services.enrol_many(users=[UserFactory(institution=trainer.institution), trainer],
                            run=run, actor=coordinator)  # fmt: skip
    assert not Enrollment.objects.filter(run=run).exists()


def test_who_else_does_not_manage_the_replicated_run(
    client: Client, ttt: dict[str, Any], institution: Any, other_institution: Any,
    coordinator: Any,
) -> None:  # fmt: skip
    run = _planned(client, ttt)
    officer = UserFactory(institution=institution)
    pending = services.enrol(user=officer, run=run, actor=officer)
    other_trainer = UserFactory(institution=institution)
    TrainerQualification.objects.create(user=other_trainer, course=run.course)
    services.create_replicated_run(
        source=ttt["source"], trainer=other_trainer, supervisor=ttt["expert"],
        actor=other_trainer,
    )  # fmt: skip
    foreign_coordinator = UserFactory(institution=other_institution)
    RoleAssignmentFactory(user=foreign_coordinator, role="coordinator",
                          institution=other_institution)  # fmt: skip
    urls = [
        reverse("courses:enrol_officers", args=[run.code]),
        reverse("courses:author_run", args=[run.code]),
    ]
    decide = reverse("courses:decide_enrolment", args=[run.code, pending.pk])
    # Where its trainer is let in ...
    for url in urls:
        assert client.get(url).status_code == 200
    # ... others are not.
    start = timezone.now() + timedelta(days=10)
    for person in (other_trainer, UserFactory(institution=institution), foreign_coordinator):
        client.force_login(person)
        for url in urls:
            assert client.get(url).status_code == 403
        assert client.post(decide, {"decision": "approve"}).status_code == 403
        with pytest.raises(PermissionDenied):
            services.add_session(actor=person, run=run, title={"es": "x"},
                                 starts_at=start, ends_at=start + timedelta(hours=1))  # fmt: skip
    pending.refresh_from_db()
    assert pending.status == Enrollment.Status.PENDING
    # The trainer manages their replicated run only: not a run of their institution they do
    # not lead, nor the train-the-trainers run.
    plain = RunFactory(host_institution=institution, mode=CourseRun.Mode.ONSITE)
    RunInstructor.objects.create(run=plain, user=ttt["trainer"], role=RunInstructor.Role.TRAINER)
    client.force_login(ttt["trainer"])
    for other in (plain, ttt["source"]):
        assert client.get(reverse("courses:enrol_officers", args=[other.code])).status_code == 403
        assert client.get(reverse("courses:author_run", args=[other.code])).status_code == 403
    # The host institution's coordinator still manages it.
    client.force_login(coordinator)
    for url in urls:
        assert client.get(url).status_code == 200


# 3. Sessions within the run's dates; attendance once a session started, with someone marked ------


@pytest.fixture
def dated_run(course: Course, institution: Any) -> CourseRun:
    """human-rights-bogota of the demo: 2026-12-06 to 2027-01-05."""
    return CourseRun.objects.create(
        course=course, version=course.current_version, code="hr-bogota", mode="onsite",
        host_institution=institution, starts_on=date(2026, 12, 6), ends_on=date(2027, 1, 5),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "field"),
    [
        ("2020-01-01T09:00", "2020-01-01T12:00", "starts_at"),
        ("2030-01-01T09:00", "2030-01-01T12:00", "starts_at"),
        ("2026-12-05T09:00", "2026-12-06T12:00", "starts_at"),
        ("2027-01-05T20:00", "2027-01-06T02:00", "ends_at"),
    ],
)
def test_a_session_outside_the_runs_dates_is_refused(
    client: Client, coordinator: Any, dated_run: CourseRun, starts_at: str, ends_at: str,
    field: str,
) -> None:  # fmt: skip
    client.force_login(coordinator)
    url = reverse("courses:author_run", args=[dated_run.code])
    response = client.post(url, {"title": "Día", "starts_at": starts_at, "ends_at": ends_at})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {field}
    assert "the run" in response.context["form"].errors[field][0]
    assert not Session.objects.filter(run=dated_run).exists()


def test_the_runs_first_and_last_days_are_its_own_and_an_undated_run_takes_any(
    client: Client, coordinator: Any, dated_run: CourseRun, course: Course, institution: Any
) -> None:
    client.force_login(coordinator)
    url = reverse("courses:author_run", args=[dated_run.code])
    for day, status in (("2026-12-06", 302), ("2027-01-05", 302), ("2027-01-06", 400)):
        data = {"title": "Día", "starts_at": f"{day}T09:00", "ends_at": f"{day}T12:00"}
        assert client.post(url, data).status_code == status
    assert Session.objects.filter(run=dated_run).count() == 2
    undated = CourseRun.objects.create(
        course=course, version=course.current_version, code="undated", host_institution=institution
    )
    data = {"title": "Día", "starts_at": "2030-01-01T09:00", "ends_at": "2030-01-01T12:00"}
    assert client.post(reverse("courses:author_run", args=[undated.code]), data).status_code == 302


@pytest.fixture
def onsite(learner: Any, instructor: Any) -> tuple[CourseRun, Enrollment]:
    run = RunFactory(mode=CourseRun.Mode.ONSITE)
    RunInstructor.objects.create(run=run, user=instructor)
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    return run, enrollment


def _session(run: CourseRun, hours_from_now: float) -> Session:
    start = timezone.now() + timedelta(hours=hours_from_now)
    return Session.objects.create(
        run=run, title={"es": "Sesión"}, starts_at=start, ends_at=start + timedelta(hours=2)
    )


def test_attendance_waits_for_the_session_to_start(
    client: Client, instructor: Any, onsite: Any
) -> None:
    from courses.models import AttendanceRecord

    run, enrollment = onsite
    future = _session(run, 24 * 7)
    client.force_login(instructor)
    url = reverse("courses:attendance", args=[run.code, future.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "This session has not started yet" in page.text
    assert 'name="all"' not in page.text
    response = client.post(url, {"all": "present"})
    assert response.status_code == 400
    assert "has not started yet" in response.text
    with pytest.raises(ValidationError) as refused:
        services.record_attendance(session=future, marks={enrollment.pk: "present"},
                                   actor=instructor)  # fmt: skip
    assert set(refused.value.message_dict) == {"session"}
    assert not AttendanceRecord.objects.exists()
    # Once it started, the form is there.
    started = _session(run, -0.5)
    page = client.get(reverse("courses:attendance", args=[run.code, started.pk]))
    assert 'name="all"' in page.text


def test_saving_attendance_with_nobody_marked_says_so_and_writes_nothing(
    client: Client, instructor: Any, onsite: Any
) -> None:
    from courses.models import AttendanceRecord

    run, enrollment = onsite
    session = _session(run, -1)
    client.force_login(instructor)
    url = reverse("courses:attendance", args=[run.code, session.pk])
    response = client.post(url, {"all": ""}, follow=True)
    assert response.status_code == 400
    assert "Nobody was marked" in response.text
    assert "Attendance saved." not in response.text
    assert not AttendanceRecord.objects.exists()
    response = client.post(url, {f"e{enrollment.pk}": "late"}, follow=True)
    assert "Attendance saved." in response.text
    assert AttendanceRecord.objects.get(enrollment=enrollment).status == "late"


# 4. The roster's observation form is checked as the supervision page's ----------------------


@pytest.mark.parametrize(
    ("rating", "feedback", "wrong"),
    [("-1", "Clear, well paced.", {"rating"}), ("abc", "Clear, well paced.", {"rating"}),
     ("4", "x" * 6000, {"feedback"}), ("4", "", {"feedback"})],
)  # fmt: skip
def test_the_roster_refuses_a_wrong_observation_naming_the_field(
    client: Client, ttt: dict[str, Any], rating: str, feedback: str, wrong: set[str]
) -> None:
    from courses.models import SupervisionObservation

    run = services.create_replicated_run(
        source=ttt["source"], trainer=ttt["trainer"], supervisor=ttt["expert"],
        actor=ttt["trainer"],
    )  # fmt: skip
    client.force_login(ttt["expert"])
    url = reverse("courses:observe", args=[run.code])
    data = {"trainer": str(ttt["trainer"].pk), "rating": rating, "feedback": feedback}
    response = client.post(url, data)
    assert response.status_code == 400
    assert set(response.context["observation_form"].errors) == wrong
    assert 'class="error-summary"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert feedback[:100] in response.text  # what was typed stays in the form
    assert "Observation saved." not in response.text
    assert not SupervisionObservation.objects.exists()
    response = client.post(url, {**data, "rating": "4", "feedback": "Clear."})
    assert response.status_code == 302
    assert SupervisionObservation.objects.get().rating == 4


# 5. A replicated run starts today at the earliest ---------------------------------------------


def test_a_replicated_run_cannot_be_planned_in_the_past(
    client: Client, ttt: dict[str, Any]
) -> None:
    client.force_login(ttt["trainer"])
    url = reverse("courses:deliver", args=[ttt["source"].course.code])
    response = client.post(url, _plan(ttt["expert"], starts_on="2020-01-01", ends_on="2020-01-05"))
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"starts_on"}
    assert 'class="error-summary"' in response.text
    with pytest.raises(ValidationError) as refused:
        services.create_replicated_run(
            source=ttt["source"], trainer=ttt["trainer"], supervisor=ttt["expert"],
            actor=ttt["trainer"], starts_on=timezone.localdate() - timedelta(days=1),
        )  # fmt: skip
    assert set(refused.value.message_dict) == {"starts_on"}
    assert not CourseRun.objects.filter(replicated_from=ttt["source"]).exists()
    today = _plan(ttt["expert"], starts_on=_days(0), ends_on=_days(0))
    assert client.post(url, today).status_code == 302


# 6. The roster's counts are each pluralised by their own number ---------------------------------


def test_the_roster_counts_are_pluralised_one_by_one(
    client: Client, coordinator: Any, institution: Any, monkeypatch: Any
) -> None:
    """French writes "1 inscrit" but "2 inscrits": each count needs its own plural form."""
    from django.templatetags import i18n

    run = RunFactory(host_institution=institution, mode=CourseRun.Mode.ONSITE)
    CourseRun.objects.filter(pk=run.pk).update(active_count=1, waitlist_count=0,
                                               completed_count=2)  # fmt: skip
    asked: list[tuple[str, int]] = []
    ngettext = i18n.translation.ngettext

    def spy(singular: str, plural: str, number: int) -> str:
        asked.append((singular, number))
        return ngettext(singular, plural, number)

    monkeypatch.setattr(i18n.translation, "ngettext", spy)
    client.force_login(coordinator)
    response = client.get(reverse("courses:roster", args=[run.code]))
    assert "1 enrolled, 0 waiting, 2 completed" in response.text
    assert {
        ("%(counter)s enrolled", 1), ("%(counter)s waiting", 0), ("%(counter)s completed", 2)
    } <= set(asked)  # fmt: skip


# 7. Approve and Reject say whose request they decide -----------------------------------------


def test_the_decision_buttons_name_the_person(
    client: Client, coordinator: Any, institution: Any
) -> None:
    run = RunFactory(host_institution=institution, mode=CourseRun.Mode.ONSITE,
                     requires_approval=True)  # fmt: skip
    for name in ("Ana Quispe", 'Luis "Lucho" Pérez'):
        officer = UserFactory(institution=institution, full_name=name)
        services.enrol(user=officer, run=run, actor=officer)
    client.force_login(coordinator)
    for url in (reverse("courses:roster", args=[run.code]),
                reverse("courses:institution_enrollments")):  # fmt: skip
        page = client.get(url).text
        assert 'aria-label="Approve the request of Ana Quispe"' in page
        assert 'aria-label="Reject the request of Ana Quispe"' in page
        assert 'aria-label="Approve the request of Luis &quot;Lucho&quot; Pérez"' in page
