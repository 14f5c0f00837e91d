"""Enrolment: self-enrolment, coordinators, approval, seat limits and the waiting list under
concurrent requests, withdrawal."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from courses import services
from courses.models import CourseRun, Enrollment, EnrollmentEvent
from tests.courses.factories import RunFactory
from tests.factories import InstitutionFactory, UserFactory


@pytest.mark.django_db
def test_self_enrolment_records_an_event(learner: Any) -> None:
    run = RunFactory()
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    assert enrollment.status == Enrollment.Status.ACTIVE
    assert enrollment.version_id == run.version_id
    assert enrollment.institution_id == learner.institution_id
    event = EnrollmentEvent.objects.get(enrollment=enrollment)
    assert (event.from_status, event.to_status, event.actor_id) == ("", "active", learner.pk)
    run.refresh_from_db()
    assert run.active_count == 1
    assert run.version.is_frozen
    # Enrolling again changes nothing.
    assert services.enrol(user=learner, run=run, actor=learner).pk == enrollment.pk
    assert EnrollmentEvent.objects.filter(enrollment=enrollment).count() == 1


@pytest.mark.django_db
def test_a_closed_run_refuses_self_enrolment(learner: Any) -> None:
    run = RunFactory(status=CourseRun.Status.CLOSED)
    with pytest.raises(services.EnrolmentError):
        services.enrol(user=learner, run=run, actor=learner)


@pytest.mark.django_db
def test_on_site_requests_wait_for_approval(
    learner: Any, coordinator: Any, institution: Any
) -> None:
    run = RunFactory(mode=CourseRun.Mode.ONSITE, requires_approval=True, capacity=1,
                     host_institution=institution)  # fmt: skip
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    assert enrollment.status == Enrollment.Status.PENDING
    with pytest.raises(PermissionDenied):
        services.approve_enrolment(enrollment=enrollment, actor=learner)
    enrollment = services.approve_enrolment(enrollment=enrollment, actor=coordinator)
    assert enrollment.status == Enrollment.Status.ACTIVE
    statuses = list(enrollment.events.values_list("to_status", flat=True))
    assert statuses == ["pending", "active"]


@pytest.mark.django_db
def test_coordinator_enrols_only_officers_of_their_institution(
    coordinator: Any, institution: Any, other_institution: Any
) -> None:
    run = RunFactory(self_enrolment=False, host_institution=institution)  # managed by them
    own = UserFactory(institution=institution)
    foreign = UserFactory(institution=other_institution)
    assert services.enrol(user=own, run=run, actor=coordinator).status == "active"
    with pytest.raises(PermissionDenied):
        services.enrol(user=foreign, run=run, actor=coordinator)
    with pytest.raises(services.EnrolmentError):
        services.enrol(user=foreign, run=run, actor=foreign)


@pytest.mark.django_db
def test_bulk_enrolment_fills_seats_then_the_waiting_list(
    coordinator: Any, institution: Any
) -> None:
    run = RunFactory(capacity=3)
    officers = [UserFactory(institution=institution) for _ in range(5)]
    outcome = services.enrol_many(users=officers, run=run, actor=coordinator)
    assert (len(outcome.enrolled), len(outcome.waitlisted), outcome.already) == (3, 2, 0)
    again = services.enrol_many(users=officers, run=run, actor=coordinator)
    assert again.already == 5
    run.refresh_from_db()
    assert (run.active_count, run.waitlist_count) == (3, 2)


@pytest.mark.django_db
def test_withdrawal_promotes_the_first_on_the_waiting_list(learner: Any) -> None:
    run = RunFactory(capacity=1)
    first = services.enrol(user=learner, run=run, actor=learner)
    second_user, third_user = UserFactory(), UserFactory()
    second = services.enrol(user=second_user, run=run, actor=second_user)
    third = services.enrol(user=third_user, run=run, actor=third_user)
    assert (second.waitlist_position, third.waitlist_position) == (1, 2)
    services.withdraw(enrollment=first, actor=learner)
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.status == Enrollment.Status.ACTIVE
    assert third.status == Enrollment.Status.WAITLISTED
    run.refresh_from_db()
    assert (run.active_count, run.waitlist_count) == (1, 1)


@pytest.mark.django_db
def test_a_learner_cannot_withdraw_someone_else(learner: Any) -> None:
    run = RunFactory()
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    with pytest.raises(PermissionDenied):
        services.withdraw(enrollment=enrollment, actor=UserFactory())


@pytest.mark.django_db(transaction=True)
def test_concurrent_enrolments_never_give_a_seat_twice(require_postgres: None) -> None:
    institution = InstitutionFactory()
    run = RunFactory(capacity=3)
    people = [UserFactory(institution=institution) for _ in range(10)]
    barrier = threading.Barrier(len(people))
    errors: list[BaseException] = []

    def enrol(person: Any) -> None:
        try:
            barrier.wait(timeout=10)
            services.enrol(user=person, run=run, actor=person)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enrol, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    run.refresh_from_db()
    rows = Enrollment.objects.filter(run=run)
    assert rows.filter(status="active").count() == 3 == run.active_count
    waiting = list(rows.filter(status="waitlisted").values_list("waitlist_position", flat=True))
    assert sorted(waiting) == list(range(1, 8))
    assert run.waitlist_count == 7


@pytest.mark.django_db(transaction=True)
def test_concurrent_withdrawals_promote_each_waiting_person_once(require_postgres: None) -> None:
    run = RunFactory(capacity=2)
    people = [UserFactory() for _ in range(6)]
    enrollments = [services.enrol(user=p, run=run, actor=p) for p in people]
    seated = enrollments[:2]
    barrier = threading.Barrier(2)

    def leave(enrollment: Enrollment) -> None:
        try:
            barrier.wait(timeout=10)
            services.withdraw(enrollment=enrollment, actor=enrollment.user)
        finally:
            connection.close()

    threads = [threading.Thread(target=leave, args=(e,)) for e in seated]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    run.refresh_from_db()
    assert Enrollment.objects.filter(run=run, status="active").count() == 2 == run.active_count
    assert (
        Enrollment.objects.filter(run=run, status="waitlisted").count() == 2 == run.waitlist_count
    )


@pytest.mark.django_db
def test_a_program_taken_in_order_needs_the_earlier_course_completed(learner: Any) -> None:
    from courses.models import Program, ProgramCourse

    first, second = RunFactory(), RunFactory()
    program = Program.objects.create(code="police-management", ordered=True)
    ProgramCourse.objects.create(program=program, course=first.course, position=1)
    ProgramCourse.objects.create(program=program, course=second.course, position=2)
    with pytest.raises(services.EnrolmentError, match="first"):
        services.enrol(user=learner, run=second, actor=learner)
    done = services.enrol(user=learner, run=first, actor=learner)
    Enrollment.objects.filter(pk=done.pk).update(status=Enrollment.Status.COMPLETED)
    assert services.enrol(user=learner, run=second, actor=learner).status == "active"
