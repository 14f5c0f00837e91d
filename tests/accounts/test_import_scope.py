"""Officer import stays inside the institutions the importing coordinator coordinates.

A coordinator of a unit matched people anywhere in the national tree (by email or by badge):
they could move a sibling unit's learner into their unit and change the email address of the
national coordinator, then take the account over with a password reset.
"""

from __future__ import annotations

from typing import Any

import pytest

from lms.accounts import services
from lms.accounts.models import User
from tests.accounts.test_import import HEADER, URL, csv_rows, run_import, upload
from tests.factories import InstitutionFactory, RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def _post(client: Any, institution: Any, text: str) -> Any:
    """The import page's POST of `text` as the officer file, into `institution`."""
    return client.post(URL, {"institution": institution.pk, "file": upload(text)})


@pytest.fixture
def tree(db: None) -> dict[str, Any]:
    """A national police with two units; a coordinator of the whole and one of a unit only."""
    national = InstitutionFactory(name="National Police", short_name="NP")
    unit = InstitutionFactory(parent=national, kind="unit", name="Unit Six", short_name="U6")
    sibling = InstitutionFactory(parent=national, kind="unit", name="Unit Seven", short_name="U7")
    national_coordinator = UserFactory(
        email="national.coordinator@example.org", institution=national, badge_number="NC-1"
    )
    RoleAssignmentFactory(user=national_coordinator, role="coordinator", institution=national)
    unit_coordinator = UserFactory(
        email="unit.coordinator@example.org", institution=national, unit=unit, badge_number="UC-1"
    )
    RoleAssignmentFactory(user=unit_coordinator, role="coordinator", institution=unit)
    sibling_learner = UserFactory(
        email="sibling.learner@example.org",
        full_name="Sibling Learner",
        institution=national,
        unit=sibling,
        badge_number="S-1",
    )
    return {
        "national": national,
        "unit": unit,
        "sibling": sibling,
        "national_coordinator": national_coordinator,
        "unit_coordinator": unit_coordinator,
        "sibling_learner": sibling_learner,
    }


def _snapshot() -> set[tuple[Any, ...]]:
    return set(
        User.objects.values_list("pk", "email", "full_name", "badge_number", "unit_id", "status")
    )


def test_unit_coordinator_cannot_take_the_national_coordinators_account_by_badge(
    client: Any, tree: dict[str, Any]
) -> None:
    before = _snapshot()
    client.force_login(tree["unit_coordinator"])
    response = _post(
        client,
        tree["unit"],
        HEADER + "New Officer,new.officer@example.org,N-9,,\n"
        "Attacker,attacker@evil.example,NC-1,,\n",
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "national.coordinator@example.org" not in content
    errors = [(e.line, e.field) for e in response.context["result"].errors]
    assert errors == [(3, "badge_number")]
    assert "outside" in str(response.context["result"].errors[0].message)
    assert _snapshot() == before  # nothing written, not even the good first line
    assert not User.objects.filter(email="attacker@evil.example").exists()


def test_unit_coordinator_cannot_move_a_sibling_units_learner(
    client: Any, tree: dict[str, Any]
) -> None:
    before = _snapshot()
    client.force_login(tree["unit_coordinator"])
    response = _post(
        client,
        tree["unit"],
        HEADER + "Sibling Learner,sibling.learner@example.org,,,\n"
        "Someone Else,someone.else@example.org,S-1,,\n",
    )
    assert response.status_code == 400
    errors = response.context["result"].errors
    assert [(e.line, e.field) for e in errors] == [(2, "email"), (3, "badge_number")]
    # The second line's badge belongs to the sibling learner: the message does not say so.
    assert "sibling.learner@example.org" not in str(errors[1].message)
    assert _snapshot() == before
    tree["sibling_learner"].refresh_from_db()
    assert tree["sibling_learner"].unit_id == tree["sibling"].pk


def test_the_service_refuses_people_outside_the_chosen_units_subtree(
    tree: dict[str, Any],
) -> None:
    """Without a person (manage.py), the chosen institution's subtree is the limit."""
    result = run_import(tree["unit"], HEADER + "X,sibling.learner@example.org,,,\n")
    assert [(e.line, e.field) for e in result.errors] == [(2, "email")]
    result = services.import_officers(
        institution=tree["unit"],
        rows=csv_rows(HEADER + "X,x@example.org,NC-1,,\n"),
        importer=tree["unit_coordinator"],
    )
    assert [(e.line, e.field) for e in result.errors] == [(2, "badge_number")]
    assert "national.coordinator@example.org" not in str(result.errors[0].message)


def test_national_coordinator_still_updates_their_officers_including_a_new_email(
    client: Any, tree: dict[str, Any]
) -> None:
    learner = UserFactory(
        email="old.address@example.org",
        full_name="Ana Pérez",
        institution=tree["national"],
        badge_number="L-1",
    )
    client.force_login(tree["national_coordinator"])
    response = _post(
        client,
        tree["national"],
        HEADER + "Ana María Pérez,new.address@example.org,L-1,,\n"
        "Sibling Learner,sibling.learner@example.org,S-1,Unit Seven,\n",
    )
    assert response.status_code == 302, response.context and response.context["result"].errors
    learner.refresh_from_db()
    assert (learner.email, learner.full_name) == ("new.address@example.org", "Ana María Pérez")
    tree["sibling_learner"].refresh_from_db()
    assert tree["sibling_learner"].unit_id == tree["sibling"].pk


def test_unit_coordinator_updates_a_learner_of_their_unit(
    client: Any, tree: dict[str, Any]
) -> None:
    learner = UserFactory(
        email="unit.learner@example.org",
        institution=tree["national"],
        unit=tree["unit"],
        badge_number="U-1",
    )
    RoleAssignmentFactory(user=learner, role="learner")  # learner only
    client.force_login(tree["unit_coordinator"])
    response = _post(
        client, tree["unit"], HEADER + "Renamed Learner,renamed.learner@example.org,U-1,,\n"
    )
    assert response.status_code == 302
    learner.refresh_from_db()
    assert (learner.email, learner.full_name) == (
        "renamed.learner@example.org",
        "Renamed Learner",
    )
    assert learner.unit_id == tree["unit"].pk


@pytest.mark.parametrize("role", ["instructor", "coordinator", "dps_admin"])
def test_a_staff_account_inside_scope_is_refused(
    client: Any, tree: dict[str, Any], role: str
) -> None:
    staff = UserFactory(
        email="staff.member@example.org",
        full_name="Staff Member",
        institution=tree["national"],
        unit=tree["unit"],
        badge_number="ST-1",
    )
    RoleAssignmentFactory(
        user=staff,
        role=role,
        institution=tree["unit"] if role in ("instructor", "coordinator") else None,
    )
    before = _snapshot()
    client.force_login(tree["unit_coordinator"])
    for text in (
        "Staff Member,attacker@evil.example,ST-1,,\n",  # new email matched by badge
        "Someone Else,staff.member@example.org,ST-1,,\n",  # new name matched by email
    ):
        response = _post(client, tree["unit"], HEADER + text)
        assert response.status_code == 400
        errors = response.context["result"].errors
        assert [e.line for e in errors] == [2]
        assert "staff role" in str(errors[0].message)
    assert _snapshot() == before


def test_the_coordinator_cannot_change_their_own_account_by_import(
    client: Any, tree: dict[str, Any]
) -> None:
    client.force_login(tree["unit_coordinator"])
    response = _post(client, tree["unit"], HEADER + "Unit Coordinator,other@example.org,UC-1,,\n")
    assert response.status_code == 400
    tree["unit_coordinator"].refresh_from_db()
    assert tree["unit_coordinator"].email == "unit.coordinator@example.org"


def test_an_unchanged_staff_line_is_accepted(tree: dict[str, Any]) -> None:
    """A coordinator's list of officers may name the coordinator: left as they are, fine."""
    coordinator = tree["unit_coordinator"]
    line = f"{coordinator.full_name},{coordinator.email},UC-1,,\n"
    result = services.import_officers(
        institution=tree["unit"], rows=csv_rows(HEADER + line), importer=coordinator
    )
    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)


@pytest.mark.parametrize("writer", ["orm", "postgresql"])
def test_the_write_paths_never_update_staff_or_people_outside_the_subtree(
    tree: dict[str, Any], writer: str, request: pytest.FixtureRequest
) -> None:
    """Rows already matched (as if checked before a role was granted) are still refused."""
    if writer == "postgresql":
        request.getfixturevalue("require_postgres")
    instructor = UserFactory(institution=tree["national"], unit=tree["unit"], badge_number="I-1")
    RoleAssignmentFactory(user=instructor, role="instructor", institution=tree["unit"])
    learner = UserFactory(institution=tree["national"], unit=tree["unit"], badge_number="L-1")
    before = _snapshot()
    targets = {
        "national coordinator": (tree["national_coordinator"].pk, "NC-1"),  # outside, staff
        "sibling learner": (tree["sibling_learner"].pk, "S-1"),  # outside
        "instructor": (instructor.pk, "I-1"),  # inside, staff
        "learner": (learner.pk, "L-1"),  # inside, learner only: the one updated
    }
    rows = [
        services.OfficerRow(
            line, "Renamed", f"renamed{line}@evil.example", badge, tree["unit"].pk, "", pk
        )
        for line, (pk, badge) in enumerate(targets.values(), start=2)
    ]
    write = services._write_orm if writer == "orm" else services._write_postgresql
    created, updated = write(rows, tree["national"], allowed_ids={tree["unit"].pk})
    assert (created, updated) == ([], 1)
    changed = _snapshot() - before
    assert [(pk, email) for pk, email, *_rest in changed] == [(learner.pk, "renamed5@evil.example")]
