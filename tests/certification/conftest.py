"""Fixtures of the certification tests: uploaded files in a temporary MEDIA_ROOT, a run hosted by
the `institution` fixture and a completed enrolment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from certification import services
from certification.models import Certificate
from tests.certification.factories import RunFactory, completed


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    cache.clear()


@pytest.fixture
def run(institution: Any) -> Any:
    return RunFactory(host_institution=institution, course__owner_institution=institution)


@pytest.fixture
def enrollment(learner: Any, run: Any) -> Any:
    return completed(learner, run)


@pytest.fixture
def certificate(enrollment: Any) -> Certificate:
    issued = services.issue_course_certificate(enrollment_id=enrollment.pk)
    assert issued is not None
    return issued
