"""The grading queue is in the navigation of instructors and DPS only."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_instructor_sees_grading_link_learner_does_not(
    client: Any, instructor: Any, learner: Any
) -> None:
    queue = reverse("assessments:queue")
    client.force_login(instructor)
    assert f'href="{queue}"' in client.get("/").content.decode()
    client.force_login(learner)
    assert f'href="{queue}"' not in client.get("/").content.decode()
