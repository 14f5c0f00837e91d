"""A coordinator's bulk enrolment is bulk work: the same rules as one enrolment, in a fixed
number of queries whatever the number of officers, all or nothing.

It used to enrol one officer after the other (about 22 queries each, 17 ms: two thousand
officers took longer than a request may). Now the rows, their events, their statements, the
run's counts and the dashboards' counters are written once for all.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from courses import services
from courses.models import Enrollment, EnrollmentEvent, Program, ProgramCourse
from lms.dashboards.models import RunTotal
from lms.xapi.models import Statement
from tests.courses.factories import RunFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

REGISTERED = "http://adlnet.gov/expapi/verbs/registered"


def _queries(users: list[Any], run: Any, actor: Any) -> tuple[int, services.BulkEnrolment]:
    with CaptureQueriesContext(connection) as captured:
        outcome = services.enrol_many(users=users, run=run, actor=actor)
    return len(captured), outcome


@pytest.mark.usefixtures("require_postgres")  # SQLite splits bulk writes at 999 parameters
def test_enrolling_5_or_80_officers_costs_the_same_queries(
    coordinator: Any, institution: Any
) -> None:
    counts = []
    # The coordinator's scope and permissions are read once a request; read them before.
    services.enrol_many(
        users=[UserFactory(institution=institution)], run=RunFactory(), actor=coordinator
    )
    for officers in (5, 80):
        run = RunFactory(capacity=officers - 2)
        users = [UserFactory(institution=institution) for _ in range(officers)]
        count, outcome = _queries(users, run, coordinator)
        counts.append(count)
        assert (len(outcome.enrolled), len(outcome.waitlisted)) == (officers - 2, 2)
    assert counts[0] == counts[1], counts
    assert counts[1] <= 30, counts


def test_seats_then_the_waiting_list_after_those_already_waiting(
    coordinator: Any, institution: Any
) -> None:
    run = RunFactory(capacity=2, host_institution=institution)  # a run the coordinator manages
    early = [UserFactory(institution=institution) for _ in range(3)]
    for officer in early:
        services.enrol(user=officer, run=run, actor=coordinator)  # 2 seats, 1 waiting
    withdrawn = early[0]
    services.withdraw(
        enrollment=Enrollment.objects.get(user=withdrawn, run=run), actor=withdrawn
    )  # the waiting one takes the seat
    officers = [UserFactory(institution=institution) for _ in range(3)]
    outcome = services.enrol_many(
        users=[*officers, early[1], withdrawn, officers[0]], run=run, actor=coordinator
    )
    # Full again: the three new ones and the reopened one wait, in the order listed, after
    # nobody (the waiting list emptied when the seat was freed); the active one is already there.
    assert outcome.enrolled == []
    assert [e.user_id for e in outcome.waitlisted] == [*(o.pk for o in officers), withdrawn.pk]
    assert outcome.already == 1
    positions = dict(
        Enrollment.objects.filter(run=run, status="waitlisted").values_list(
            "user_id", "waitlist_position"
        )
    )
    assert [positions[o.pk] for o in [*officers, withdrawn]] == [1, 2, 3, 4]
    run.refresh_from_db()
    assert (run.active_count, run.waitlist_count) == (2, 4)
    # One enrolment per officer; the reopened one has its first row back, with a new event.
    assert Enrollment.objects.filter(run=run).count() == 6
    reopened = Enrollment.objects.get(run=run, user=withdrawn)
    assert list(
        EnrollmentEvent.objects.filter(enrollment=reopened)
        .order_by("pk")
        .values_list("from_status", "to_status", "note")
    )[-1] == ("withdrawn", "waitlisted", "bulk")
    # A `registered` statement each: the first enrolment's and the reopening's.
    assert (
        Statement.objects.filter(verb_id=REGISTERED, registration=reopened.registration).count()
        == 2
    )
    for officer in officers:
        registration = Enrollment.objects.get(run=run, user=officer).registration
        assert Statement.objects.filter(verb_id=REGISTERED, registration=registration).count() == 1


def test_the_dashboards_count_a_bulk_enrolment_once_each(
    coordinator: Any, institution: Any
) -> None:
    run = RunFactory(capacity=10)
    officers = [UserFactory(institution=institution) for _ in range(12)]
    services.enrol_many(users=officers, run=run, actor=coordinator)
    services.enrol_many(users=officers, run=run, actor=coordinator)  # all already there
    # Waiting-list places are not enrolments (as for one at a time).
    assert RunTotal.objects.get(run_id=run.pk).enrolled == 10


def test_an_officer_of_another_institution_refuses_the_whole_list(
    coordinator: Any, institution: Any, other_institution: Any
) -> None:
    run = RunFactory()
    officers = [UserFactory(institution=institution) for _ in range(3)]
    foreign = UserFactory(institution=other_institution)
    with pytest.raises(PermissionDenied):
        services.enrol_many(users=[*officers, foreign], run=run, actor=coordinator)
    with pytest.raises(PermissionDenied):
        services.enrol_many(
            users=[*officers, UserFactory(institution=None)], run=run, actor=coordinator
        )
    assert not Enrollment.objects.filter(run=run).exists()
    assert not Statement.objects.filter(verb_id=REGISTERED).exists()
    run.refresh_from_db()
    assert run.active_count == 0


def test_a_program_in_order_names_the_officer_who_lacks_the_earlier_course(
    coordinator: Any, institution: Any
) -> None:
    # runs the coordinator manages (enrol's rule for enrolling others)
    first, second = (
        RunFactory(host_institution=institution),
        RunFactory(host_institution=institution),
    )
    program = Program.objects.create(code="police-management", ordered=True)
    ProgramCourse.objects.create(program=program, course=first.course, position=1)
    ProgramCourse.objects.create(program=program, course=second.course, position=2)
    ready = UserFactory(institution=institution)
    services.enrol(user=ready, run=first, actor=coordinator)
    Enrollment.objects.filter(user=ready).update(status="completed")
    late = UserFactory(institution=institution, full_name="Ana Pérez")
    with pytest.raises(services.EnrolmentError) as refused:
        services.enrol_many(users=[ready, late], run=second, actor=coordinator)
    assert "Ana Pérez" in refused.value.messages[0]
    with translation.override("es"), pytest.raises(services.EnrolmentError) as refused:
        services.enrol_many(users=[late], run=second, actor=coordinator)
    assert refused.value.messages[0].startswith("Ana Pérez debe completar primero el curso")
    assert not Enrollment.objects.filter(run=second).exists()
    assert len(services.enrol_many(users=[ready], run=second, actor=coordinator).enrolled) == 1


def test_the_coordinator_listed_among_the_officers_is_enrolled_too(
    coordinator: Any, institution: Any
) -> None:
    run = RunFactory()
    officers = [UserFactory(institution=institution) for _ in range(2)]
    outcome = services.enrol_many(users=[coordinator, *officers], run=run, actor=coordinator)
    assert sorted(e.user_id for e in outcome.enrolled) == sorted(
        [coordinator.pk, *(o.pk for o in officers)]
    )


def test_everyone_matching_from_the_page_in_one_request(coordinator: Any, institution: Any) -> None:
    run = RunFactory(self_enrolment=False, host_institution=institution)
    for n in range(120):
        UserFactory(institution=institution, full_name=f"Agente {n:03}")
    client = Client()
    client.force_login(coordinator)
    url = reverse("courses:enrol_officers", args=[run.code])
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            url, {"everyone_matching": "1", "q": "Agente"}, HTTP_ACCEPT_LANGUAGE="es"
        )
    assert response.status_code == 302
    assert len(captured) <= 40, len(captured)
    assert Enrollment.objects.filter(run=run, status="active").count() == 120
