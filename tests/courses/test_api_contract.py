"""The REST API keeps its published OpenAPI schema: requests generated from the schema (valid
ones, and ones that break it) are sent by schemathesis to the application, as an anonymous
caller, a learner, an institution's coordinator and DPS, and every answer must be what the schema
says (status codes, content type, body), no answer a server error, and nothing that breaks the
schema accepted.

One check is left out: that every schema-valid request is accepted. A run code or a password the
schema allows can still be one that does not exist, and that is refused, as documented (400).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from courses.models import CourseRun, Enrollment
from tests.courses.factories import RunFactory, enrol_in_text_course
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

load_all_checks()
CHECKED = [check for check in CHECKS.get_all() if check is not positive_data_acceptance]
EXAMPLES = 25  # per operation and mode, each sent by every caller


@pytest.fixture
def api_schema(db: None) -> Iterator[Any]:
    # The application answers in this thread, on the test's connection and inside its
    # transaction, as Django's test client does: the end of a request must not close it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def callers(institution: Any, coordinator: Any) -> dict[str, dict[str, str]]:
    """Each kind of caller's headers, with enrolments and runs for their answers to show: a
    virtual run open to every state (no member state) and an on-site one held in one."""
    learner = UserFactory(institution=institution)
    enrollment, _lessons = enrol_in_text_course(learner)
    onsite = RunFactory(
        mode=CourseRun.Mode.ONSITE, member_state=institution.member_state,
        host_institution=institution,
    )  # fmt: skip
    Enrollment.objects.create(user=learner, run=onsite, version=onsite.version)
    assert enrollment.run.member_state_id is None
    dps = UserFactory()
    RoleAssignmentFactory(user=dps, role="dps_admin")
    # Uncompressed: over WSGI nothing undoes the gzip that an HTTP client would.
    plain = {"Accept-Encoding": "identity"}
    headers = {"anonymous": plain}
    for name, user in (("learner", learner), ("coordinator", coordinator), ("dps", dps)):
        token, _created = Token.objects.get_or_create(user=user)
        headers[name] = {**plain, "Authorization": f"Token {token.key}", "Accept-Language": "es"}
    return headers


# Schemathesis's own pytest integration does not run under pytest 9 (it reads a node attribute
# pytest no longer has): each operation's strategy is drawn by Hypothesis here instead.
@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
def test_every_answer_keeps_the_schema(
    api_schema: Any, callers: dict[str, dict[str, str]], mode: GenerationMode
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {operation.label for operation in operations} == {
        "GET /api/v1/courses/", "GET /api/v1/enrollments/", "POST /api/v1/enrollments/",
        "GET /api/v1/enrollments/{registration}/progress/", "POST /api/v1/auth/token/",
    }  # fmt: skip
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_keep_the_schema(case: Any) -> None:
            for headers in callers.values():
                response = case.call(headers=headers)
                # the headers passed, so that the token counts as given, not generated
                case.validate_response(response, checks=CHECKED, headers=headers)

        answers_keep_the_schema()
