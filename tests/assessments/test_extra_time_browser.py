"""In Chromium: extra time given while a learner's attempt page is open lengthens their countdown
instead of letting it submit the attempt at the old deadline."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from assessments import services
from assessments.models import Attempt, Question
from tests.assessments.factories import enrol, make_assessment, run_of
from tests.conftest import login_cookie
from tests.courses.factories import assign_instructor

K = Question.Kind


@pytest.mark.django_db(transaction=True)
def test_extra_time_given_during_an_attempt_keeps_its_page_open(
    live_server: Any, browser: Any
) -> None:
    assessment = make_assessment(kinds=[K.SINGLE], time_limit_minutes=60)
    enrollment = enrol(assessment)
    run = run_of(assessment)
    instructor = assign_instructor(run)
    # Started almost an hour ago: a few seconds of the 60 minutes are left.
    started = timezone.now() - timedelta(minutes=60) + timedelta(seconds=12)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user, now=started
    )
    context = browser.new_context()
    context.add_cookies([login_cookie(enrollment.user, live_server.url)])
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/assessments/attempts/{attempt.pk}/")
    page.locator("#timer").get_by_text(re.compile(r"^Time left: 0:\d\d$")).wait_for()
    services.set_time_allowance(run=run, enrollment=enrollment, extra_pct=50, actor=instructor)
    # At 0:00 the page asks the server, which now gives it half an hour more.
    page.locator("#timer").get_by_text(re.compile(r"^Time left: (29|30):\d\d$")).wait_for()
    context.close()
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.IN_PROGRESS
    assert attempt.deadline == started + timedelta(minutes=90)
