"""Responses and right answers are shown in words on the review and grading pages: the option
texts the learner saw, True/False in the reader's language, pairs and orders by their texts,
never the stored ids ("correct → b")."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from assessments.models import Question, QuestionCategory
from assessments.templatetags.assessments_tags import in_words, right_answer_text
from tests.assessments.factories import make_assessment, make_question, run_of, submitted
from tests.courses.factories import CourseFactory

pytestmark = pytest.mark.django_db
K = Question.Kind


@pytest.fixture
def category(db: None) -> QuestionCategory:
    return QuestionCategory.objects.create(course=CourseFactory(), slug="words")


def test_each_kind_reads_in_words(category: QuestionCategory) -> None:
    single = make_question(category, K.SINGLE)
    multiple = make_question(category, K.MULTIPLE)
    true_false = make_question(category, K.TRUE_FALSE)
    numeric = make_question(category, K.NUMERIC)
    short = make_question(category, K.SHORT_TEXT)
    matching = make_question(category, K.MATCHING)
    ordering = make_question(category, K.ORDERING)
    with translation.override("en"):
        assert in_words(single, "b") == "Option b"
        assert right_answer_text(single) == "Option b"
        assert in_words(multiple, ["a", "c"]) == "Option a, Option c"
        assert right_answer_text(multiple) == "Option a, Option c"
        assert in_words(true_false, "false") == "False"
        assert right_answer_text(true_false) == "True"
        assert in_words(numeric, "3.4") == "3.4"
        assert right_answer_text(numeric) == "3.5 ± 0.1"
        assert in_words(short, "interpol") == "interpol"
        assert right_answer_text(short) == "Interpol"
        assert in_words(matching, {"p1": "y", "p2": "x"}) == "Red → Option y; Blue → Option x"
        assert right_answer_text(matching) == "Red → Option x; Blue → Option y"
        assert right_answer_text(ordering) == "Option i1 → Option i2 → Option i3"
        assert in_words(single, None) == ""
        # an id the question no longer has is shown as it was stored
        assert in_words(single, "z") == "z"
    with translation.override("pt"):
        assert in_words(single, "b") == "Opção b"
    with translation.override("fr"):
        assert right_answer_text(true_false) == "Vrai"
        # a numeric key in the reader's notation; the learner's own answer as they typed it
        assert right_answer_text(numeric) == "3,5 ± 0,1"
        assert in_words(numeric, "3.4") == "3.4"
    with translation.override("es"):
        assert right_answer_text(numeric) == "3,5 ± 0,1"
        numeric.key = {"value": "12", "tolerance": 0}
        assert right_answer_text(numeric) == "12"


def test_the_review_and_grading_pages_show_words_not_ids(instructor: Any) -> None:
    from tests.courses.factories import assign_instructor

    assessment = make_assessment(
        kinds=[K.SINGLE, K.TRUE_FALSE, K.MATCHING, K.ESSAY], time_limit_minutes=None
    )
    questions = {
        q.kind: q for q in Question.objects.filter(course=assessment.lesson.version.course)
    }
    attempt = submitted(
        assessment,
        {
            questions[K.SINGLE].pk: "a",
            questions[K.TRUE_FALSE].pk: "true",
            questions[K.MATCHING].pk: {"p1": "x", "p2": "x"},
            questions[K.ESSAY].pk: "Proportionate force only.",
        },
    )
    assign_instructor(run_of(assessment), instructor)
    client = Client()
    client.force_login(instructor)
    page = client.get(reverse("assessments:grade", args=[attempt.pk])).content.decode()
    assert "Answer: Option a · Right answer: Option b" in page
    assert "Answer: True · Right answer: True" in page
    assert "Red → Option x; Blue → Option x" in page
    assert "correct →" not in page
    assert "pairs →" not in page


def test_the_learners_review_shows_words_and_no_empty_right_answer() -> None:
    from assessments.models import Assessment

    assessment = make_assessment(
        kinds=[K.SINGLE, K.TRUE_FALSE, K.SHORT_TEXT],
        time_limit_minutes=None,
        review_shows=Assessment.ReviewShows.CORRECT,
    )
    questions = {
        q.kind: q for q in Question.objects.filter(course=assessment.lesson.version.course)
    }
    # a short answer that no key can show (its grading accepts nothing listed)
    Question.objects.filter(pk=questions[K.SHORT_TEXT].pk).update(key={})
    attempt = submitted(
        assessment,
        {questions[K.SINGLE].pk: "a", questions[K.TRUE_FALSE].pk: "false"},
    )
    client = Client()
    client.force_login(attempt.user)
    with translation.override("en"):
        page = client.get(reverse("assessments:review", args=[attempt.pk])).content.decode()
    assert "Your answer: Option a" in page
    assert "Right answer: Option b" in page
    assert "Your answer: False" in page
    assert "Right answer: True" in page
    assert page.count("Right answer:") == 2
    assert "correct →" not in page
    assert page.count(" of 1.00 point</p>") == 3  # one point each: the singular
