"""The permissions module: grants and denials of the core roles."""

from __future__ import annotations

from typing import Any

import pytest

from lms.accounts.permissions import get_scope, has_perm
from tests.factories import InstitutionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_coordinator_may_import_into_own_institution_and_its_units(
    coordinator: Any, institution: Any
) -> None:
    unit = InstitutionFactory(parent=institution, kind="unit")
    assert has_perm(coordinator, "accounts.import_officers", institution)
    assert has_perm(coordinator, "accounts.import_officers", unit)


def test_coordinator_is_refused_another_institution(
    coordinator: Any, other_institution: Any
) -> None:
    assert not has_perm(coordinator, "accounts.import_officers", other_institution)


def test_learner_and_validator_are_refused_imports(
    learner: Any, validator: Any, institution: Any
) -> None:
    assert not has_perm(learner, "accounts.import_officers", institution)
    assert not has_perm(validator, "accounts.import_officers", institution)


def test_dps_reaches_every_institution(dps_admin: Any, other_institution: Any) -> None:
    assert get_scope(dps_admin).is_dps
    assert has_perm(dps_admin, "accounts.import_officers", other_institution)


def test_unknown_permission_is_refused_even_to_dps(dps_admin: Any) -> None:
    assert not has_perm(dps_admin, "nothing.registered")


def test_suspended_person_has_no_permission(institution: Any) -> None:
    user = UserFactory(institution=institution, status="suspended", is_superuser=True)
    assert not has_perm(user, "accounts.administer_platform")


def test_home_page_renders_in_spanish(client: Any) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    assert response["Content-Language"] == "es"


def test_healthz_reports_each_dependency(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "cache", "broker"}
