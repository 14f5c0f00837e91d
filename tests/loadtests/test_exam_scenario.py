"""The exam-window scenario answers as an officer's browser would: the fields it reads off the
real attempt page, and the answers it sends, are accepted by the autosave and the submit (the
full load test's exam phase failed every autosave and submit with 400s once the attempt views
refused options that were not offered: the scenario read radio buttons as text boxes)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from assessments import services
from assessments.models import Answer, Attempt, Question
from loadtests.exam_forms import answer_fields, answers
from tests.assessments.factories import enrol, make_assessment
from tests.loadtests.locust_script import RECORD_REQUESTS, run_script

pytestmark = pytest.mark.django_db
K = Question.Kind


def test_the_scenarios_answers_are_accepted_by_the_attempt_views() -> None:
    kinds = [K.SINGLE, K.MULTIPLE, K.TRUE_FALSE, K.MATCHING, K.ORDERING, K.SHORT_TEXT, K.NUMERIC]
    assessment = make_assessment(kinds=kinds, time_limit_minutes=None)
    enrollment = enrol(assessment)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    client = Client()
    client.force_login(enrollment.user)
    page = client.get(reverse("assessments:take", args=[attempt.pk]))
    assert page.status_code == 200
    fields = answer_fields(page.content.decode())
    kinds_seen = {kind for _name, kind, _value in fields}
    assert {"radio", "checkbox", "hidden", "number"} <= kinds_seen
    # every question of the draw has a field, and every choice is one of the options offered
    drawn = {str(entry["question"]): entry for entry in attempt.draw}
    assert {name.split("-")[1] for name, _kind, _value in fields} == set(drawn)
    random.seed(7)
    csrf = "unused-by-the-test-client"
    for _ in range(10):
        data = answers(fields, csrf)
        saved = client.post(
            reverse("assessments:save", args=[attempt.pk]), data, HTTP_ACCEPT="application/json"
        )
        assert saved.status_code == 200, saved.content
        assert saved.json()["saved"] is True
    assert Answer.objects.filter(attempt=attempt).exclude(response=None).exists()
    submitted = client.post(reverse("assessments:submit", args=[attempt.pk]), answers(fields, csrf))
    assert submitted.status_code == 302, submitted.content
    assert Attempt.objects.get(pk=attempt.pk).status != Attempt.Status.IN_PROGRESS


SCRIPT = (
    """
import json, os, sys
os.environ.update({"LMS_EXAM_EMAILS": "%(email)s", "LMS_EXAM_PASSWORD": "%(password)s"})
from locust.env import Environment
import loadtests.scenarios.exam_burst as exam

exam.ExamBurstUser.exam_id = %(exam)d
exam.ExamBurstUser.host = sys.argv[1]
env = Environment(user_classes=[exam.ExamBurstUser], host=sys.argv[1])
"""
    + RECORD_REQUESTS
    + """user = exam.ExamBurstUser(env)
user.on_start()
for _ in range(6):
    try:
        user.take_exam()
    except BaseException:  # the user stops itself once it has submitted
        break
print(json.dumps(answers))
"""
)


@pytest.mark.django_db(transaction=True)
def test_an_officer_of_the_exam_window_saves_and_submits_through_locust(
    live_server: Any, tmp_path: Path
) -> None:
    """The scenario itself, run by Locust's HTTP client against a live server: a multiple
    choice's several values reach the view as several fields (the client sent a list as one
    text, refused as not offered)."""
    password = "exam-window-pass-2026"  # noqa: S105 - a test account's
    assessment = make_assessment(
        kinds=[K.SINGLE, K.MULTIPLE, K.TRUE_FALSE], time_limit_minutes=None
    )
    enrollment = enrol(assessment)
    officer = enrollment.user
    officer.set_password(password)
    officer.save()
    script = SCRIPT % {"email": officer.email, "password": password, "exam": assessment.pk}
    answered = run_script(script, {}, live_server.url, tmp_path)
    names = [name for name, _status, _failed in answered]
    assert names[:3] == ["sign in page", "sign in", "exam overview"]
    assert "start attempt" in names
    assert names.count("autosave") >= 2
    assert names[-1] == "submit attempt"
    assert all(not failed for _name, _status, failed in answered), answered
    assert {status for name, status, _f in answered if name in ("autosave", "submit attempt")} == {
        200
    }
    attempt = Attempt.objects.get(enrollment=enrollment)
    assert attempt.status != Attempt.Status.IN_PROGRESS
