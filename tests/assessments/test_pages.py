"""The pages, and each refusal a learner or an instructor meets through them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from assessments import services
from assessments.models import Assessment, Attempt, Question
from tests.assessments.factories import enrol, essay_assessment, make_assessment, run_of, submitted
from tests.courses.factories import assign_instructor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
K = Question.Kind


def _start(client: Any, assessment: Assessment) -> Attempt:
    response = client.post(reverse("assessments:start", args=[assessment.pk]))
    assert response.status_code == 302
    return Attempt.objects.latest("pk")


def test_learner_takes_a_quiz_without_javascript(
    client: Any, enrollment: Any, assessment: Assessment
) -> None:
    client.force_login(enrollment.user)
    assert client.get(reverse("assessments:overview", args=[assessment.pk])).status_code == 200
    attempt = _start(client, assessment)
    page = client.get(reverse("assessments:take", args=[attempt.pk]))
    assert page.status_code == 200
    assert b'id="timer"' in page.content
    data = {f"q-{e['question']}": ("b" if e["options"] else "3.5") for e in attempt.draw}
    saved = client.post(
        reverse("assessments:save", args=[attempt.pk]), data, HTTP_ACCEPT="application/json"
    )
    assert saved.json()["saved"] is True
    response = client.post(reverse("assessments:submit", args=[attempt.pk]), {})
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.score == Decimal(2)
    review = client.get(reverse("assessments:review", args=[attempt.pk]))
    assert b"100.00" in review.content


def test_no_correct_answer_before_review_allows(client: Any, db: None) -> None:
    assessment = make_assessment(
        review_shows=Assessment.ReviewShows.CORRECT,
        review_when=Assessment.ReviewWhen.AFTER_CLOSE,
        closes_at=timezone.now() + timedelta(days=1),
    )
    enrollment = enrol(assessment)
    client.force_login(enrollment.user)
    attempt = _start(client, assessment)
    page = client.get(reverse("assessments:take", args=[attempt.pk])).content.decode()
    # The key is never on the attempt page, and the review hides it until the close.
    assert "correct" not in page
    client.post(reverse("assessments:submit", args=[attempt.pk]), {})
    review = client.get(reverse("assessments:review", args=[attempt.pk])).content.decode()
    assert "Right answer" not in review
    assert "3.5" not in review
    Assessment.objects.filter(pk=assessment.pk).update(
        closes_at=timezone.now() - timedelta(minutes=1)
    )
    review = client.get(reverse("assessments:review", args=[attempt.pk])).content.decode()
    assert "Right answer" in review


def test_no_other_learners_attempt(client: Any, enrollment: Any, assessment: Assessment) -> None:
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    other = enrol(assessment)
    client.force_login(other.user)
    for name in ("take", "review"):
        assert client.get(reverse(f"assessments:{name}", args=[attempt.pk])).status_code == 404
    for name in ("save", "submit"):
        assert client.post(reverse(f"assessments:{name}", args=[attempt.pk]), {}).status_code == 404
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.IN_PROGRESS


def test_no_start_outside_the_window(client: Any, db: None) -> None:
    assessment = make_assessment(opens_at=timezone.now() + timedelta(hours=2))
    enrollment = enrol(assessment)
    client.force_login(enrollment.user)
    overview = client.get(reverse("assessments:overview", args=[assessment.pk]))
    assert "opens on" in overview.content.decode()
    response = client.post(reverse("assessments:start", args=[assessment.pk]), follow=True)
    assert "opens on" in response.content.decode()
    assert not Attempt.objects.exists()


def test_no_start_beyond_the_attempts(client: Any, db: None) -> None:
    assessment = make_assessment(max_attempts=1)
    enrollment = enrol(assessment)
    client.force_login(enrollment.user)
    attempt = _start(client, assessment)
    client.post(reverse("assessments:submit", args=[attempt.pk]), {})
    response = client.post(reverse("assessments:start", args=[assessment.pk]), follow=True)
    assert "You have used the 1 attempt allowed." in response.content.decode()
    assert Attempt.objects.count() == 1


def test_no_change_after_submit(client: Any, enrollment: Any, assessment: Assessment) -> None:
    client.force_login(enrollment.user)
    attempt = _start(client, assessment)
    client.post(reverse("assessments:submit", args=[attempt.pk]), {})
    single = next(e["question"] for e in attempt.draw if e["options"])
    response = client.post(
        reverse("assessments:save", args=[attempt.pk]),
        {f"q-{single}": "b"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 409
    assert "can no longer change" in response.json()["error"]
    assert attempt.answers.get(question_id=single).response is None


def test_late_submission_is_refused_with_a_clear_message(
    client: Any, enrollment: Any, assessment: Assessment
) -> None:
    client.force_login(enrollment.user)
    attempt = _start(client, assessment)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(minutes=5))
    response = client.post(reverse("assessments:submit", args=[attempt.pk]), {}, follow=True)
    assert "Time ran out" in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.expired


def test_not_enrolled_and_anonymous_are_refused(client: Any, assessment: Assessment) -> None:
    url = reverse("assessments:overview", args=[assessment.pk])
    assert client.get(url).status_code == 302  # to sign in
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403
    assert client.post(reverse("assessments:start", args=[assessment.pk])).status_code == 403


def test_instructor_pages_only_for_their_runs(
    client: Any, assessment: Assessment, enrollment: Any
) -> None:
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    services.submit_attempt(attempt=attempt, actor=enrollment.user)
    run = run_of(assessment)
    urls = [
        reverse("assessments:grade", args=[attempt.pk]),
        reverse("assessments:statistics", args=[run.code, assessment.pk]),
        reverse("assessments:practical", args=[run.code, assessment.pk]),
        reverse("assessments:grades_csv", args=[run.code]),
    ]
    other = make_assessment()
    outsider = assign_instructor(run_of(other))
    for user, expected in ((outsider, 403), (enrollment.user, 403)):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == expected, (user, url)
        assert (
            client.post(reverse("assessments:release", args=[run.code, assessment.pk])).status_code
            == 403
        )
    teacher = assign_instructor(run)
    client.force_login(teacher)
    practical = reverse("assessments:practical", args=[run.code, assessment.pk])
    for url in urls:
        # A quiz is answered by its officers: there is no practical evaluation to record.
        assert client.get(url).status_code == (404 if url == practical else 200), url


def test_instructor_grades_an_essay_through_the_page(client: Any, instructor: Any) -> None:
    assessment, essay = essay_assessment(rubric=True)
    attempt = submitted(assessment, {essay.pk: "My essay"})
    assign_instructor(run_of(assessment), instructor)
    client.force_login(instructor)
    page = client.get(reverse("assessments:grade", args=[attempt.pk]))
    assert b"My essay" in page.content
    answer = attempt.answers.get()
    data = {"answer": answer.pk, "comment": "Clear"}
    for criterion in essay.rubric.criteria.all():
        data[f"criterion-{criterion.pk}"] = criterion.levels.get(points=1).pk
    client.post(reverse("assessments:grade", args=[attempt.pk]), data)
    answer.refresh_from_db()
    # "Partial" (1 of 0–2) on both criteria: half the rubric's range, half the question's point
    assert answer.score == Decimal("0.50")
    assert answer.comment == "Clear"


def test_a_refused_grade_names_its_question_and_leads_back_to_it(
    client: Any, instructor: Any
) -> None:
    assessment, essay = essay_assessment()
    attempt = submitted(assessment, {essay.pk: "My essay"})
    assign_instructor(run_of(assessment), instructor)
    client.force_login(instructor)
    answer = attempt.answers.get()
    url = reverse("assessments:grade", args=[attempt.pk])
    with translation.override("en"):
        response = client.post(url, {"answer": answer.pk, "score": "99"})
        assert response["Location"] == f"{url}#answer-{answer.pk}"
        page = client.get(url).content.decode()
    assert f"Question {answer.position}: The score must be between 0 and" in page
