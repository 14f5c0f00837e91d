"""A validator approves a course in Spanish, in Chromium, through Daphne."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accreditation import services
from accreditation.models import AccreditationRequest
from tests.accreditation.conftest import DOSSIER
from tests.accreditation.factories import CourseFactory, CourseVersionFactory
from tests.conftest import login_cookie
from tests.factories import (
    InstitutionFactory,
    RoleAssignmentFactory,
    UniversityFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def submitted_request(transactional_db: None) -> AccreditationRequest:
    """Made before Playwright starts its event loop in this thread (notify() pushes through
    async_to_sync, which refuses to run inside a running loop)."""
    institution = InstitutionFactory()
    university = UniversityFactory(name="Universidad de la Red")
    coordinator = UserFactory(institution=institution)
    RoleAssignmentFactory(user=coordinator, role="coordinator", institution=institution)
    validator = UserFactory(full_name="Valeria Castro", preferred_language="es")
    RoleAssignmentFactory(user=validator, role="validator", university=university)
    version = CourseVersionFactory(course=CourseFactory(owner_institution=institution))
    request = services.create_request(
        course_version=version, university=university, actor=coordinator, **DOSSIER
    )
    return services.submit_request(request=request, actor=coordinator)


def test_validator_approves_a_course_in_spanish(
    submitted_request: AccreditationRequest, asgi_live_server: str, browser: Any
) -> None:
    request = submitted_request
    version = request.course_version
    validator = request.university.role_assignments.get().user
    context = browser.new_context()
    context.add_cookies([login_cookie(validator, asgi_live_server)])
    page = context.new_page()
    page.set_default_timeout(60000)  # the CI machine is shared and slow under load
    page.goto(f"{asgi_live_server}/accreditation/portal/")
    assert page.locator("html").get_attribute("lang") == "es"
    page.get_by_role("heading", name="Portal del validador").wait_for()
    title = version.course.localized_title("es")
    page.get_by_role("link", name=f"{title} · v{version.number}").click()
    page.get_by_role("heading", name="Evaluación", exact=True).wait_for()
    page.get_by_label("Horas crédito").fill("75")
    page.get_by_label("Horas de trabajo por crédito ECTS").fill("25")
    page.get_by_label("Válida desde").fill("2026-01-01")
    page.get_by_label("Vigencia (años)").fill("3")
    page.get_by_label("Aseguramiento de la calidad").fill("Revisión por pares")
    page.get_by_role("button", name="Aprobar", exact=True).click()
    page.get_by_text("La versión del curso quedó acreditada.").wait_for()
    assert page.locator("#request-status").inner_text() == "Aprobada"

    request.refresh_from_db()
    assert request.status == AccreditationRequest.Status.APPROVED
    assert request.decided_by == validator
    assert request.ects_credits == Decimal("3.0")
    assert request.course_version.is_frozen
    context.close()
