"""The lesson player links a quiz lesson to its assessment without a query on every view: each
process remembers the link, forgets it when the assessment is deleted or replaced, and asks
again after ASSESSMENT_LINK_SECONDS."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments import receivers
from assessments.models import Assessment
from tests.assessments.factories import make_assessment

pytestmark = pytest.mark.django_db


def _player(enrollment: Any, assessment: Assessment) -> str:
    return reverse("courses:lesson", args=[enrollment.registration, assessment.lesson_id])


def _link(assessment: Assessment, enrollment: Any) -> str:
    """The player's link: the assessment's page in the run of the enrolment played."""
    overview = reverse("assessments:overview", args=[assessment.pk])
    return f"{overview}?registration={enrollment.registration}"


def _assessment_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "assessments_assessment" in q["sql"]]


def test_a_revisit_of_a_quiz_lesson_does_not_ask_for_its_assessment_again(
    client: Client, learner: Any, enrollment: Any, assessment: Assessment
) -> None:
    client.force_login(learner)
    overview = _link(assessment, enrollment)
    assert f'href="{overview}"' in client.get(_player(enrollment, assessment)).text
    with CaptureQueriesContext(connection) as queries:
        page = client.get(_player(enrollment, assessment))
    assert page.status_code == 200
    assert f'href="{overview}"' in page.text
    assert _assessment_reads(queries) == []


def test_a_replaced_assessment_is_linked_at_once(
    client: Client, learner: Any, enrollment: Any, assessment: Assessment
) -> None:
    client.force_login(learner)
    client.get(_player(enrollment, assessment))
    lesson = assessment.lesson
    old = reverse("assessments:overview", args=[assessment.pk])
    assessment.delete()
    page = client.get(_player(enrollment, assessment)).text
    assert old not in page
    assert "Open the assessment" not in page  # no assessment: no link to a page that is gone
    replacement = Assessment.objects.create(lesson=lesson, time_limit_minutes=10)
    page = client.get(_player(enrollment, assessment)).text
    assert f'href="{_link(replacement, enrollment)}"' in page
    assert "Open the assessment" in page


def test_the_link_is_asked_again_after_its_bound(
    client: Client, learner: Any, enrollment: Any, assessment: Assessment, monkeypatch: Any
) -> None:
    client.force_login(learner)
    client.get(_player(enrollment, assessment))
    monkeypatch.setattr(receivers, "ASSESSMENT_LINK_SECONDS", 0.0)
    receivers._assessment_of.forget()  # remembered with the zero bound from here on
    client.get(_player(enrollment, assessment))
    with CaptureQueriesContext(connection) as queries:
        client.get(_player(enrollment, assessment))
    assert len(_assessment_reads(queries)) == 1


def test_another_learners_quiz_link_is_their_own_assessment(
    client: Client, learner: Any, enrollment: Any, assessment: Assessment
) -> None:
    from tests.assessments.factories import enrol

    other = make_assessment()
    other_enrollment = enrol(other, learner)
    client.force_login(learner)
    first = client.get(_player(enrollment, assessment)).text
    second = client.get(_player(other_enrollment, other)).text
    assert f'href="{_link(assessment, enrollment)}"' in first
    assert f'href="{_link(other, other_enrollment)}"' in second
