"""The demo data gives the demo instructor an essay to grade: a cadet of their on-site run has
submitted the final quiz (objective answers graded, the essay waiting), once however often the
demo is loaded."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from assessments.demo import CADET
from assessments.models import Attempt

pytestmark = pytest.mark.django_db


def test_the_demo_instructor_has_an_essay_waiting_to_be_graded() -> None:
    from lms.accounts.models import User

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    attempt = Attempt.objects.select_related("run").get(user__email=CADET)
    assert attempt.status == Attempt.Status.SUBMITTED
    assert attempt.needs_grading == 1
    assert attempt.run.code == "human-rights-bogota"
    essay = attempt.answers.get(question__kind="essay")
    assert essay.response
    assert essay.score is None
    # the objective answers were graded at submission, and answered right
    objective = attempt.answers.exclude(question__kind="essay").exclude(response=None)
    assert objective.exists()
    assert all(answer.score == answer.max_score for answer in objective)
    # the cadet cannot sign in
    assert not User.objects.get(email=CADET).has_usable_password()
    client = Client()
    client.force_login(User.objects.get(email="instructor@demo.lms"))
    # the instructor reads Spanish: the middleware activates it, for this test only
    with translation.override("en"):
        queue = client.get("/assessments/grading/")
        assert queue.status_code == 200
        assert b"Camila Rojas" in queue.content
        assert client.get(f"/assessments/grading/attempts/{attempt.pk}/").status_code == 200
