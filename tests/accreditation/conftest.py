"""People around one accreditation request: the owner's coordinator, the university's
validators, and those who must be refused."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accreditation import services
from accreditation.models import AccreditationRequest
from accreditation.services import create_request, submit_request
from tests.accreditation.factories import CourseFactory, CourseVersionFactory
from tests.factories import RoleAssignmentFactory, UniversityFactory, UserFactory


@pytest.fixture
def version(institution: Any) -> Any:
    return CourseVersionFactory(course=CourseFactory(owner_institution=institution))


@pytest.fixture
def other_validator(db: None) -> Any:
    user = UserFactory()
    RoleAssignmentFactory(user=user, role="validator", university=UniversityFactory())
    return user


@pytest.fixture
def second_validator(university: Any) -> Any:
    user = UserFactory()
    RoleAssignmentFactory(user=user, role="validator", university=university)
    return user


@pytest.fixture
def other_coordinator(other_institution: Any) -> Any:
    user = UserFactory(institution=other_institution)
    RoleAssignmentFactory(user=user, role="coordinator", institution=other_institution)
    return user


DOSSIER: dict[str, Any] = {
    "syllabus": [
        {
            "module": "Foundations",
            "sessions": [
                {"title": "International human rights standards", "hours": "4"},
                {"title": "Use of force", "hours": "6"},
            ],
        }
    ],
    "learning_outcomes": ["Applies the principles of legality and proportionality"],
    "level": "5",
    "assessment_methods": "Written exam; supervised practical exercise",
    "passing_rules": "70% in the exam and 80% attendance",
    "instructors": [{"name": "Ana Gil", "qualifications": "LLM, 10 years of teaching"}],
}


@pytest.fixture
def draft(version: Any, university: Any, coordinator: Any) -> AccreditationRequest:
    return create_request(
        course_version=version, university=university, actor=coordinator, **DOSSIER
    )


@pytest.fixture
def submitted(draft: AccreditationRequest, coordinator: Any) -> AccreditationRequest:
    return submit_request(request=draft, actor=coordinator)


def client_for(user: Any) -> Client:
    """A test client signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def accredited(submitted: AccreditationRequest, validator: Any) -> AccreditationRequest:
    """The submitted request approved, its version the course's current one."""
    version = submitted.course_version
    version.course.current_version = version
    version.course.save(update_fields=["current_version"])
    return services.approve(
        request=submitted,
        actor=validator,
        credit_hours=Decimal("75"),
        valid_from=timezone.localdate() - timedelta(days=10),
    )
