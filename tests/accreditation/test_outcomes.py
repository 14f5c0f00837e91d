"""The validator's outcome aggregates by member state, in one GROUP BY, equal to a recount."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accreditation.models import AccreditationRequest
from accreditation.selectors import outcomes_by_member_state
from courses.models import CourseRun, Enrollment
from tests.accreditation.factories import RequestFactory
from tests.factories import UserFactory, member_state

pytestmark = pytest.mark.django_db

Status = AccreditationRequest.Status


def accredited_request(university: Any) -> AccreditationRequest:
    today = timezone.localdate()
    return RequestFactory(
        university=university,
        status=Status.APPROVED,
        reference=f"T-{UserFactory().pk}",
        credit_hours=Decimal("75"),
        valid_from=today,
        valid_until=today.replace(year=today.year + 3),
    )


def enrol(
    run: CourseRun,
    state: str,
    status: str,
    score: str | None,
    passed: bool | None,
    attendance: int | None = None,
) -> Enrollment:
    return Enrollment.objects.create(
        user=UserFactory(),
        run=run,
        version=run.version,
        status=status,
        score_pct=Decimal(score) if score is not None else None,
        passed=passed,
        attendance_pct=attendance,
        member_state=member_state(state),
    )


def test_outcomes_by_member_state(university: Any, django_assert_num_queries: Any) -> None:
    req = accredited_request(university)
    version = req.course_version
    onsite = CourseRun.objects.create(
        course=version.course, version=version, code="onsite-1", mode=CourseRun.Mode.ONSITE
    )
    virtual = CourseRun.objects.create(
        course=version.course, version=version, code="virtual-1", mode=CourseRun.Mode.VIRTUAL
    )
    completed = Enrollment.Status.COMPLETED
    enrol(onsite, "CO", completed, "95", True, attendance=100)
    enrol(onsite, "CO", completed, "40", False, attendance=80)
    enrol(virtual, "CO", Enrollment.Status.ACTIVE, None, None)
    enrol(virtual, "BR", completed, "72.5", True)
    enrol(virtual, "BR", Enrollment.Status.WITHDRAWN, None, None)  # not counted
    with django_assert_num_queries(2):
        rows = {
            row.member_state_id: row
            for row in outcomes_by_member_state(course_version_id=version.pk)
        }
    colombia = rows[member_state("CO").pk]
    assert (colombia.enrolled, colombia.completed, colombia.passed) == (3, 2, 1)
    assert colombia.pass_rate == Decimal("50.0")
    assert colombia.average_score == Decimal("67.5")
    assert colombia.score_bands == (1, 0, 0, 1)
    assert colombia.onsite_enrolled == 2
    assert colombia.average_attendance == Decimal("90.0")
    brazil = rows[member_state("BR").pk]
    assert (brazil.enrolled, brazil.completed, brazil.passed) == (1, 1, 1)
    assert brazil.score_bands == (0, 0, 1, 0)
    assert brazil.onsite_enrolled == 0
    assert brazil.average_attendance is None


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["CO", "BR", "HT"]),
            st.sampled_from([Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED]),
            st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
        ),
        max_size=12,
    )
)
def test_aggregates_equal_a_recount(
    university: Any, rows: list[tuple[str, str, int | None]]
) -> None:
    req = accredited_request(university)
    version = req.course_version
    run = CourseRun.objects.create(course=version.course, version=version, code=f"r-{req.pk}")
    for state, status, score in rows:
        passed = None if score is None else score >= 70
        enrol(run, state, status, None if score is None else str(score), passed)
    result = {
        row.member_state: row for row in outcomes_by_member_state(course_version_id=version.pk)
    }
    for state in {state for state, _s, _p in rows}:
        mine = [row for row in rows if row[0] == state]
        outcome = result[member_state(state).name]
        assert outcome.enrolled == len(mine)
        assert outcome.completed == sum(1 for row in mine if row[1] == Enrollment.Status.COMPLETED)
        assert outcome.passed == sum(1 for row in mine if row[2] is not None and row[2] >= 70)
        assert sum(outcome.score_bands) == sum(1 for row in mine if row[2] is not None)


def test_outcomes_page_for_the_validator_only(
    university: Any, validator: Any, other_validator: Any, coordinator: Any, client: Any
) -> None:
    req = accredited_request(university)
    run = CourseRun.objects.create(
        course=req.course_version.course, version=req.course_version, code="p-1"
    )
    enrol(run, "HT", Enrollment.Status.COMPLETED, "88", True)
    url = reverse("accreditation:outcomes", args=[req.pk])
    client.force_login(validator)
    response = client.get(url)
    assert response.status_code == 200
    assert "Haiti" in response.content.decode()
    client.force_login(other_validator)
    assert client.get(url).status_code == 403
