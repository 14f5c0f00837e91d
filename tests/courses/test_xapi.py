"""xAPI: each learning step becomes a statement in the LRS (once), and results that external
content sends to the LRS update the learner's lesson progress."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from courses import services
from courses.models import Enrollment, Lesson, LessonProgress
from tests.courses.factories import RunFactory

pytestmark = pytest.mark.django_db


def _statements(registration: Any) -> list[dict[str, Any]]:
    from lms.xapi.models import Statement

    rows = Statement.objects.filter(registration=registration)
    return [row.full_statement if hasattr(row, "full_statement") else row.data for row in rows]


def _verbs(registration: Any) -> list[str]:
    return sorted(
        str(s["verb"]["id"]).rstrip("/").rsplit("/", 1)[-1] for s in _statements(registration)
    )


def test_enrolment_and_lessons_are_recorded_once(learner: Any) -> None:
    run = RunFactory()
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    lesson = Lesson.objects.filter(version=run.version).first()
    assert lesson is not None
    services.open_lesson(enrollment=enrollment, lesson=lesson)
    services.open_lesson(enrollment=enrollment, lesson=lesson)
    assert _verbs(enrollment.registration) == ["completed", "experienced", "registered"]


def test_a_completed_statement_from_content_completes_the_lesson(
    learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from lms.xapi.signals import statements_stored

    run = RunFactory()
    lesson = Lesson.objects.filter(version=run.version).first()
    assert lesson is not None
    lesson.kind = Lesson.Kind.XAPI
    lesson.requires_pass = True
    lesson.activity_id = "https://content.example.org/activities/de-escalation"
    lesson.save()
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    statement = {
        "actor": {"mbox": f"mailto:{learner.email}"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
        "object": {"id": lesson.activity_id},
        "result": {"score": {"scaled": 0.9}, "success": True, "completion": True},
        "context": {"registration": str(enrollment.registration)},
    }
    other = dict(statement, context={"registration": "6d1d4b4e-1111-4a4a-9b9b-000000000000"})
    statements_stored.send(sender=None, statements=[statement, other])
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson=lesson)
    assert progress.status == "completed"
    assert progress.passed is True
    assert str(progress.score_pct) == "90.00"


def test_launching_xapi_content_passes_the_launch_parameters(client: Client, learner: Any) -> None:
    run = RunFactory()
    lesson = Lesson.objects.filter(version=run.version).first()
    assert lesson is not None
    lesson.kind = Lesson.Kind.XAPI
    lesson.launch_url = "/static/content/index.html"
    lesson.save()
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    client.force_login(learner)
    response = client.get(reverse("courses:launch", args=[enrollment.registration, lesson.pk]))
    assert response.status_code == 302
    location = response["Location"]
    for name in ("endpoint=", "auth=", "actor=", "registration=", "activity_id="):
        assert name in location
    assert str(enrollment.registration) in location
