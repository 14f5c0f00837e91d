"""The load model's instructors grade essays: loadtests.grading keeps submitted essays waiting in
a run the sampled instructors teach, and the Locust instructor opens one and grades it through
the grading page (tests.loadtests.locust_script runs the scenario against a live server)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from assessments.models import Answer, Attempt
from courses.models import RunInstructor
from loadtests import grading
from loadtests.run import _session_for
from tests.factories import UserFactory
from tests.loadtests.locust_script import run_script

SCRIPT = """
import json, sys
from locust.env import Environment
import loadtests.locustfile as scenarios

env = Environment(user_classes=[scenarios.Instructor], host=sys.argv[1])
answers = []
env.events.request.add_listener(
    lambda name, response, exception, **kw: answers.append(
        [name, response.status_code if response is not None else None, exception is not None]
    )
)
scenarios.Instructor.host = sys.argv[1]
user = scenarios.Instructor(env)
me = scenarios.POOL["instructors"][0]
user.arrive(me["email"], me["cookie"])
user.grade()
print(json.dumps(answers))
"""


@pytest.mark.django_db
def test_setup_keeps_the_asked_number_of_essays_waiting_in_the_instructors_run() -> None:
    teachers = [UserFactory(), UserFactory()]
    essays = grading.setup([t.pk for t in teachers], 3)
    assert len(essays) == 3
    answers = Answer.objects.filter(pk__in=[e["answer"] for e in essays]).select_related(
        "attempt__run", "question"
    )
    assert {a.attempt_id for a in answers} == {e["attempt"] for e in essays}
    for answer in answers:
        assert answer.attempt.status == Attempt.Status.SUBMITTED
        assert answer.attempt.needs_grading == 1
        assert answer.question.kind == "essay"
        assert answer.graded_by_id is None
        assert answer.attempt.run.code == grading.RUN
    run = answers[0].attempt.run
    assert set(RunInstructor.objects.filter(run=run).values_list("user_id", flat=True)) == {
        t.pk for t in teachers
    }
    # asked again: the same essays, none made twice
    assert grading.setup([t.pk for t in teachers], 3) == essays
    assert Attempt.objects.filter(run=run).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_locust_instructor_grades_an_essay_through_the_page(
    live_server: Any, tmp_path: Path
) -> None:
    teacher = UserFactory(email="grader-locust@example.org")
    essays = grading.setup([teacher.pk], 1)
    pool = {
        "password": "",
        "learners": [],
        "instructors": [{"email": teacher.email, "cookie": _session_for(teacher)}],
        "codes": ["NOSUCHCODE00"],
        "dps": "",
        "dps_cookie": "",
        "essays": essays,
    }
    assert run_script(SCRIPT, pool, live_server.url, tmp_path) == [
        ["grade page", 200, False], ["grade", 302, False],
    ]  # fmt: skip
    answer = Answer.objects.select_related("attempt").get(pk=essays[0]["answer"])
    assert answer.graded_by_id == teacher.pk
    assert Decimal(4) <= answer.score <= Decimal(10)
    assert answer.comment == "Proportionate and well argued."
    assert answer.attempt.status == Attempt.Status.GRADED
    # graded, not released: the officer's course goes on as it was
    assert answer.attempt.released_at is None
    # graded, it no longer waits: the next set-up makes a new one
    assert grading.setup([teacher.pk], 1) != essays
