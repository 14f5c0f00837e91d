"""The aggregates kept by the receivers always equal a full recount, and the rebuild gives the
same; whatever the order of enrolments, withdrawals, lessons, attendance and certificates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certification import services as certification
from certification.models import Certificate
from courses import services as courses
from courses.models import Enrollment, Lesson, Session
from lms.dashboards import services
from lms.dashboards.models import LearnerActivity, PlaceActivity, UserActivity
from tests.dashboards.conftest import enrol

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["enrol", "bulk", "withdraw", "lesson", "attend", "attend_all", "revoke"]),
        st.integers(0, 3),  # officer
        st.sampled_from(["virtual", "onsite"]),
        st.integers(0, 2),  # lesson, session or attendance status
    ),
    min_size=1,
    max_size=12,
)
STATUSES = ["present", "absent", "excused"]


def _apply(
    action: tuple[str, int, str, int],
    network: dict[str, Any],
    officers: list[Any],
    dps: Any,
    committed: Callable[[Callable[[], Any]], Any],
) -> None:
    kind, who, which, extra = action
    run = network[which]
    user = officers[who]
    enrollment = Enrollment.objects.filter(user=user, run=run).first()
    if kind == "enrol":
        committed(lambda: enrol(user, run))
    elif kind == "bulk":  # a coordinator's bulk enrolment: new, reopened and already there
        committed(lambda: courses.enrol_many(users=officers[who:], run=run, actor=dps))
    elif kind == "attend_all" and which == "onsite":  # the whole roster in one tap
        seated = Enrollment.objects.filter(run=run, status__in=["active", "completed"])
        marks = {seat.pk: STATUSES[extra] for seat in seated}
        session = Session.objects.filter(run=run).order_by("pk")[who % 2]
        if marks:
            committed(lambda: courses.record_attendance(session=session, marks=marks, actor=dps))
    elif enrollment is None:
        return
    elif kind == "withdraw" and enrollment.status in ("active", "waitlisted", "pending"):
        committed(lambda: courses.withdraw(enrollment=enrollment, actor=user))
    elif kind == "lesson" and enrollment.status == "active":
        lessons = list(Lesson.objects.filter(version_id=enrollment.version_id).order_by("position"))
        lesson = lessons[extra % len(lessons)]
        committed(lambda: courses.complete_lesson(enrollment=enrollment, lesson=lesson, actor=user))
    elif kind == "attend" and enrollment.status in ("active", "completed") and which == "onsite":
        session = Session.objects.filter(run=run).order_by("pk")[extra % 2]
        committed(
            lambda: courses.record_attendance(
                session=session, marks={enrollment.pk: STATUSES[extra]}, actor=dps
            )
        )
    elif kind == "revoke":
        certificate = enrollment.certificates.filter(revoked_at__isnull=True).first()
        if certificate is not None:
            committed(
                lambda: certification.revoke_certificate(
                    certificate=certificate, actor=dps, reason="issued in error"
                )
            )


def assert_matches_recount() -> None:
    recount = services.recount_tallies()
    assert services.current_tallies() == recount
    # The rollups (what the pages read) hold the same counters summed over fewer dimensions.
    assert services.current_rollups() == services.rollups_of(recount)
    stored = dict(LearnerActivity.objects.values_list("enrollment_id", "last_active_on"))
    assert stored == services.recount_activity()
    learners = dict(UserActivity.objects.values_list("user_id", "last_active_on"))
    assert learners == services.recount_user_activity()
    places = {
        (row.member_state_id, row.institution_id, row.user_id): row.last_active_on
        for row in PlaceActivity.objects.all()
    }
    assert places == services.recount_place_activity()


@pytest.mark.usefixtures("require_postgres")
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=ACTIONS)
def test_aggregates_equal_a_recount_after_any_sequence_of_events(
    actions: list[tuple[str, int, str, int]],
    network: dict[str, Any],
    officers: list[Any],
    dps_admin: Any,
    committed: Callable[[Callable[[], Any]], Any],
) -> None:
    for action in actions:
        _apply(action, network, officers, dps_admin, committed)
    assert_matches_recount()
    # The set-based rebuild gives the same as the events did.
    services.rebuild()
    assert_matches_recount()


@pytest.mark.usefixtures("require_postgres")
def test_completion_and_certificate_move_the_counters_and_rebuild_agrees(
    network: dict[str, Any], officers: list[Any], dps_admin: Any, committed: Any
) -> None:
    from tests.dashboards.conftest import finish

    enrollment = committed(lambda: enrol(officers[0], network["virtual"]))
    committed(lambda: finish(enrollment))
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    totals = {
        name: sum(c.get(name, 0) for c in services.current_tallies().values())
        for name in ("enrolled", "completed", "certificates")
    }
    # The course certificate, and the program certificate of the one-course program.
    certificates = Certificate.objects.filter(user=officers[0]).count()
    assert certificates == 2
    assert totals == {"enrolled": 1, "completed": 1, "certificates": certificates}
    before = services.current_tallies(), services.current_rollups()
    assert before[1]["dashboards_statetally"]  # the rollups were written by the receivers
    services.rebuild()
    assert (services.current_tallies(), services.current_rollups()) == before
    assert_matches_recount()
