"""Fixtures of the assessments tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.assessments.factories import enrol, make_assessment, run_of
from tests.courses.factories import assign_instructor


@pytest.fixture
def assessment(db: None) -> Any:
    return make_assessment()


@pytest.fixture
def enrollment(assessment: Any, learner: Any) -> Any:
    return enrol(assessment, learner)


@pytest.fixture
def run(assessment: Any) -> Any:
    return run_of(assessment)


@pytest.fixture
def run_instructor(run: Any, instructor: Any) -> Any:
    assign_instructor(run, instructor)
    return instructor
