"""Review round: defects found in the dashboards, each proven by a test."""

from __future__ import annotations

from typing import Any

import pytest

from courses.models import Program, ProgramCourse

pytestmark = pytest.mark.usefixtures("require_postgres", "without_certificate_issuance")
HOME = "/dashboards/"


def test_a_donor_does_not_see_a_program_it_does_not_fund_that_shares_a_course(
    client: Any, donor_user: Any, activity: Any, network: dict[str, Any]
) -> None:
    """A course in the donor's program is also in a program funded by someone else: the
    breakdown by program lists only the donor's own program."""
    other = Program.objects.create(code="someone-elses", title={"en": "Someone else's"})
    ProgramCourse.objects.create(program=other, course=network["virtual"].course, position=1)
    client.force_login(donor_user)
    response = client.get(HOME, {"by": "program"})
    assert response.status_code == 200
    assert [row.key for row in response.context["all_rows"]] == [network["program"].pk]


def test_recent_completions_follow_the_institution_drilled_into(
    client: Any, dps_admin: Any, activity: Any, other_institution: Any
) -> None:
    """Drilled down to an institution where nobody completed anything, the page still listed
    the completion of an officer of another institution under "Recent completions"."""
    client.force_login(dps_admin)
    response = client.get(HOME, {"institution": other_institution.pk})
    assert response.status_code == 200
    assert response.context["figures"].completed == 0
    assert response.context["recent"] == []
    mine = client.get(HOME, {"institution": activity["done"].institution_id})
    assert [row.pk for row in mine.context["recent"]] == [activity["done"].pk]


@pytest.mark.parametrize(
    "query",
    [
        {"mode": "onsite"},
        {"language": "fr"},
        {"since": "2000-01", "until": "2000-12"},
    ],
)
def test_recent_completions_follow_the_other_filters(
    client: Any, dps_admin: Any, activity: Any, network: dict[str, Any], query: dict[str, str]
) -> None:
    """The only completion is in the virtual run, this year: filtered to on-site runs, to runs
    in another language or to another period, the figures say 0 completions and so must the
    list under them."""
    network["virtual"].refresh_from_db()
    assert network["virtual"].mode != "onsite"
    assert network["virtual"].language != "fr"
    client.force_login(dps_admin)
    response = client.get(HOME, query)
    assert response.status_code == 200
    assert response.context["figures"].completed == 0
    assert response.context["recent"] == []


def test_recent_completions_follow_the_program_filter(
    client: Any, dps_admin: Any, activity: Any, network: dict[str, Any]
) -> None:
    other = Program.objects.create(code="on-site-only", title={"en": "On site only"})
    ProgramCourse.objects.create(program=other, course=network["onsite"].course, position=1)
    client.force_login(dps_admin)
    response = client.get(HOME, {"program": other.pk})
    assert response.context["figures"].completed == 0
    assert response.context["recent"] == []
    response = client.get(HOME, {"program": network["program"].pk})
    assert [row.pk for row in response.context["recent"]] == [activity["done"].pk]


def _with_units(root: Any, count: int) -> None:
    """`count` units under `root`, written in bulk (their paths set as Institution.save would)."""
    from lms.accounts.models import Institution

    units = Institution.objects.bulk_create(
        Institution(
            parent=root, name=f"Unit {n}", kind="unit", member_state_id=root.member_state_id
        )
        for n in range(count)
    )
    for unit in units:
        unit.path = f"{root.path}{unit.pk}/"
    Institution.objects.bulk_update(units, ["path"])


def test_a_coordinator_of_a_large_police_still_hears_their_other_institution_and_runs(
    institution: Any, network: dict[str, Any]
) -> None:
    """A coordinator of a police with 500 units who also coordinates a second institution and
    teaches a run: the socket joined the first 500 groups by id (the first police and its
    units), so nothing of the second institution nor of the run reached their dashboard."""
    from lms.dashboards import live
    from lms.dashboards.consumers import listening
    from tests.courses.factories import assign_instructor
    from tests.factories import InstitutionFactory, RoleAssignmentFactory, UserFactory

    _with_units(institution, 500)
    second = InstitutionFactory()
    user = UserFactory(institution=institution)
    RoleAssignmentFactory(user=user, role="coordinator", institution=institution)
    RoleAssignmentFactory(user=user, role="coordinator", institution=second)
    RoleAssignmentFactory(user=user, role="instructor", institution=institution)
    assign_instructor(network["onsite"], user)
    groups, named = listening(user)
    assert named
    heard = set(groups)
    # every event names each institution above the learner's: the top ones suffice
    for path in (institution.path + "1234/", second.path):
        assert set(live.groups_for(institution_path=path, run_id=None, course_id=None)) & heard
    assert live.run_group(network["onsite"].pk) in heard


def test_a_donor_may_not_drill_into_a_program_it_does_not_fund(
    client: Any, donor_user: Any, activity: Any, network: dict[str, Any]
) -> None:
    """Filtered by another funder's program that shares a course, the page showed the donor's
    course's figures under that program; it now refuses the filter, naming it."""
    other = Program.objects.create(code="someone-elses", title={"en": "Someone else's"})
    ProgramCourse.objects.create(program=other, course=network["virtual"].course, position=1)
    client.force_login(donor_user)
    refused = client.get(HOME, {"program": other.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert "Program: choose a value from the list." in refused.content.decode()
    assert client.get(HOME, {"program": network["program"].pk}).status_code == 200
