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


def test_the_demo_instructor_records_the_practical_evaluation_of_the_onsite_run() -> None:
    from assessments.models import Assessment
    from courses.models import CourseRun, Enrollment
    from lms.accounts.models import User

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # once only, and the quiz stays the quiz
    practical = Assessment.objects.select_related("lesson").get(kind=Assessment.Kind.PRACTICAL)
    assert not practical.lesson.is_required  # the virtual run shares the version
    assert Assessment.objects.filter(kind=Assessment.Kind.QUIZ).count() == 1
    assert Attempt.objects.get(user__email=CADET).assessment.kind == Assessment.Kind.QUIZ
    onsite = CourseRun.objects.get(code="human-rights-bogota")
    client = Client()
    client.force_login(User.objects.get(email="instructor@demo.lms"))
    # the instructor reads Spanish: the middleware activates it, for this test only
    with translation.override("es"):
        queue = client.get(
            "/assessments/grading/",
            {"run": onsite.pk, "assessment": practical.pk},
            HTTP_ACCEPT_LANGUAGE="es",
        )
        page_url = f"/assessments/runs/{onsite.code}/{practical.pk}/practical/"
        assert page_url.encode() in queue.content
        page = client.get(page_url)
        assert page.status_code == 200
        assert "Camila Rojas" in page.content.decode()
        # the page is in the instructor's language (Spanish) with the checklist's Spanish items
        assert "Escucha a los organizadores sin interrumpir" in page.content.decode()
        cadet = Enrollment.objects.get(run=onsite, user__email=CADET)
        question = practical.sections.get().pool[0][0]
        response = client.post(
            page_url,
            {"officer": [cadet.pk], f"m-{cadet.pk}-{question}": ["c1", "c2", "c4"],
             f"c-{cadet.pk}": "Buena escucha."},
            follow=True,
        )  # fmt: skip
        assert "1 agente registrado." in response.content.decode()
        attempt = Attempt.objects.get(assessment=practical, enrollment=cadet)
        assert round(float(attempt.score_pct), 2) == 83.33  # 5 of the checklist's 6 points
        assert attempt.status == Attempt.Status.GRADED  # the instructor releases it
        # the quiz's page refuses it: only a practical evaluation is recorded there
        quiz = Attempt.objects.get(user__email=CADET, assessment__kind="quiz").assessment_id
        assert client.get(f"/assessments/runs/{onsite.code}/{quiz}/practical/").status_code == 404
