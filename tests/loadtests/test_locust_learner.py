"""A Locust learner who signs in through the form (one in ten of the mixed load) still saves
their video position: the CSRF secret then comes from the client's cookie jar, not from the
pool's cookie (tests.loadtests.locust_script runs the scenario against a live server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from courses.models import Enrollment, Lesson, LessonProgress
from tests.courses.factories import RunFactory
from tests.factories import UserFactory
from tests.loadtests.locust_script import RECORD_REQUESTS, run_script

PASSWORD = "locust-learner-pass-2026"  # noqa: S105 - a test account's

SCRIPT = (
    """
import json, sys
from locust.env import Environment
import loadtests.locustfile as scenarios

scenarios.Learner.host = sys.argv[1]
env = Environment(user_classes=[scenarios.Learner], host=sys.argv[1])
"""
    + RECORD_REQUESTS
    + """user = scenarios.Learner(env)
user.me = scenarios.POOL["learners"][0]
user.arrive(user.me["email"], user.me["cookie"], sign_in_share=1.0)
token = user.csrf_token()
user.video_position()
print(json.dumps({"token": token, "answers": answers}))
"""
)


@pytest.mark.django_db(transaction=True)
def test_a_learner_signed_in_through_the_form_saves_the_video_position(
    live_server: Any, tmp_path: Path
) -> None:
    user = UserFactory(email="officer-locust@example.org")
    user.set_password(PASSWORD)
    user.save()
    run = RunFactory()
    video = Lesson.objects.create(
        version=run.version, module=run.version.modules.get(), position=9,
        kind=Lesson.Kind.VIDEO, title={"en": "Case"}, video_url="https://video.example.org/a.mp4",
    )  # fmt: skip
    enrollment = Enrollment.objects.create(user=user, run=run, version=run.version)
    pool = {
        "password": PASSWORD,
        "learners": [
            {
                "email": user.email,
                "cookie": "",
                "registration": str(enrollment.registration),
                "lessons": [video.pk],
                "xapi_lesson": None,
                "video_lesson": video.pk,
                "launch": None,
            }
        ],  # fmt: skip
        "instructors": [],
        "codes": ["NOSUCHCODE00"],
        "dps": "",
        "dps_cookie": "",
    }
    result = run_script(SCRIPT, pool, live_server.url, tmp_path)
    assert result["token"]  # from the cookie jar: the pool gave no cookie
    assert result["answers"] == [
        ["sign-in form", 200, False], ["sign-in", 200, False], ["video position", 200, False],
    ]  # fmt: skip
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson=video)
    assert progress.position_seconds == 15
