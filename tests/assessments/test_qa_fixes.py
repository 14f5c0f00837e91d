"""Defects QA found on the instructors' pages: a score that is not a number, the accessible names
of the rubric's radio groups and of the practical evaluation's comments, and the French colon."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polib
import pytest
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from assessments import services
from assessments.models import Attempt
from tests.assessments.factories import essay_assessment, practical_evaluation, run_of, submitted
from tests.courses.factories import assign_instructor

pytestmark = pytest.mark.django_db


def _essay_to_grade(client: Any, instructor: Any, *, rubric: bool = False) -> tuple[Any, str]:
    assessment, essay = essay_assessment(rubric=rubric)
    attempt = submitted(assessment, {essay.pk: "My essay"})
    assign_instructor(run_of(assessment), instructor)
    client.force_login(instructor)
    return attempt, reverse("assessments:grade", args=[attempt.pk])


@pytest.mark.parametrize("score", ["NaN", "nan", "-NaN", "sNaN", "Infinity", "-inf", "abc"])
def test_a_score_that_is_not_a_finite_number_is_refused_as_not_a_number(
    client: Any, instructor: Any, score: str
) -> None:
    attempt, url = _essay_to_grade(client, instructor)
    answer = attempt.answers.get()
    with translation.override("en"):
        response = client.post(url, {"answer": answer.pk, "score": score})
        assert response.status_code == 302
        assert response["Location"] == f"{url}#answer-{answer.pk}"
        page = client.get(url).content.decode()
    assert f"Question {answer.position}: Score: enter a number." in page
    answer.refresh_from_db()
    assert answer.score is None
    assert not answer.attempt.grade_history.exists()


@pytest.mark.parametrize("score", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_grading_refuses_a_score_that_is_not_finite(instructor: Any, score: str) -> None:
    assessment, essay = essay_assessment()
    attempt = submitted(assessment, {essay.pk: "My essay"})
    assign_instructor(run_of(assessment), instructor)
    answer = attempt.answers.get()
    with pytest.raises(ValidationError) as refused:
        services.grade_answer(answer=answer, actor=instructor, score=Decimal(score))
    assert "score" in refused.value.message_dict
    answer.refresh_from_db()
    assert answer.score is None


def test_a_decimal_comma_score_is_still_accepted(client: Any, instructor: Any) -> None:
    attempt, url = _essay_to_grade(client, instructor)
    answer = attempt.answers.get()
    client.post(url, {"answer": answer.pk, "score": "0,5"})
    answer.refresh_from_db()
    assert answer.score == Decimal("0.50")


@pytest.mark.parametrize("points", ["NaN", "Infinity", "lots"])
def test_a_checklist_item_whose_points_are_not_a_number_refuses_the_page_not_a_500(
    client: Any, instructor: Any, points: str
) -> None:
    assessment, run, question, (enrollment,) = practical_evaluation(instructor, 1)
    question.data["checklist"][0]["points"] = points
    question.save()
    client.force_login(instructor)
    url = reverse("assessments:practical", args=[run.code, assessment.pk])
    with translation.override("en"):
        response = client.post(
            url, {"officer": enrollment.pk, f"m-{enrollment.pk}-{question.pk}": "c1"}, follow=True
        )
    assert response.status_code == 200
    assert "A checklist item of this question has points that are not a number." in (
        response.content.decode()
    )
    # all or nothing: the attempt created for the officer went with the refusal
    assert not Attempt.objects.filter(enrollment=enrollment).exists()


class _Groups(HTMLParser):
    """For each radio button, checkbox and textarea of a page: the legends of the fieldsets around
    it (outermost first), and the text of its label."""

    def __init__(self) -> None:
        super().__init__()
        self.fieldsets: list[list[str]] = []  # the text of each open fieldset's legend
        self.in_legend = False
        self.groups: dict[str, list[str]] = {}  # id -> legends
        self.labels: dict[str, str] = {}  # for -> text
        self.label_for: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "fieldset":
            self.fieldsets.append([])
        elif tag == "legend":
            self.in_legend = True
        elif tag == "label":
            self.label_for = attributes.get("for") or ""
            self.labels[self.label_for] = ""
        elif (tag == "input" and attributes.get("type") in ("radio", "checkbox")) or (
            tag == "textarea"
        ):
            self.groups[attributes.get("id") or ""] = [
                " ".join("".join(legend).split()) for legend in self.fieldsets
            ]

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset":
            self.fieldsets.pop()
        elif tag == "legend":
            self.in_legend = False
        elif tag == "label":
            self.label_for = None

    def handle_data(self, data: str) -> None:
        if self.in_legend and self.fieldsets:
            self.fieldsets[-1].append(data)
        if self.label_for is not None:
            self.labels[self.label_for] += data


def _groups(html: str) -> _Groups:
    parser = _Groups()
    parser.feed(html)
    return parser


def test_each_criterion_of_a_rubric_groups_its_levels_under_its_name(
    client: Any, instructor: Any
) -> None:
    attempt, url = _essay_to_grade(client, instructor, rubric=True)
    answer = attempt.answers.get()
    rubric = answer.question.rubric
    page = _groups(client.get(url).content.decode())
    criteria = list(rubric.criteria.prefetch_related("levels"))
    assert len(criteria) == 2
    for criterion in criteria:
        for level in criterion.levels.all():
            radio = f"l-{answer.pk}-{level.pk}"
            # the innermost group of the radio button is named after its criterion (a screen
            # reader says "Argument, group: Partial (1.00)"), inside the rubric's
            assert page.groups[radio] == ["Essay rubric", criterion.title["en"]], radio
            assert page.labels[radio].startswith(level.title["en"]), radio


def test_each_comment_of_a_practical_evaluation_names_its_officer(
    client: Any, instructor: Any
) -> None:
    assessment, run, _question, enrollments = practical_evaluation(instructor, 2)
    client.force_login(instructor)
    with translation.override("en"):
        page = _groups(
            client.get(
                reverse("assessments:practical", args=[run.code, assessment.pk])
            ).content.decode()
        )
    names = set()
    for enrollment in enrollments:
        label = page.labels[f"c-{enrollment.pk}"]
        assert label == f"Comment on {enrollment.user.full_name}"
        names.add(label)
    assert len(names) == 2


# The phrases that join a name and what follows with a colon are one message each (French puts
# a space before the colon); before, the colon was outside any message, so no translation could.


def _in_french(person: Any) -> None:
    person.preferred_language = "fr"
    person.save(update_fields=["preferred_language"])


class _TitleForm(forms.Form):
    title = forms.CharField(label="title")


def test_the_error_summary_joins_a_field_and_its_error_in_one_message() -> None:
    with translation.override("fr"):
        html = render_to_string("courses/includes/error_summary.html", {"form": _TitleForm({})})
    assert '<a href="#id_title">Title : Ce champ est obligatoire.</a>' in html


def test_the_error_summary_reads_as_before_in_english() -> None:
    with translation.override("en"):
        html = render_to_string("courses/includes/error_summary.html", {"form": _TitleForm({})})
    assert '<a href="#id_title">Title: This field is required.</a>' in html


def test_the_statistics_heading_is_one_message(client: Any, instructor: Any) -> None:
    assessment, run, _question, _enrollments = practical_evaluation(instructor, 1)
    _in_french(instructor)
    client.force_login(instructor)
    page = client.get(reverse("assessments:statistics", args=[run.code, assessment.pk]))
    assert (
        f'<h1 id="statistics-heading">Statistiques par question : Final quiz · {run.code}</h1>'
        in page.content.decode()
    )


def test_the_cohort_chat_heading_is_one_message(client: Any, instructor: Any) -> None:
    _assessment, run, _question, _enrollments = practical_evaluation(instructor, 1)
    _in_french(instructor)
    client.force_login(instructor)
    page = client.get(reverse("community:chat", kwargs={"run_id": run.pk}))
    assert f"<h1>Chat de la promotion : {run.course}</h1>" in page.content.decode()


def test_the_practical_checklist_legend_is_one_message(client: Any, instructor: Any) -> None:
    assessment, run, question, (enrollment,) = practical_evaluation(instructor, 1)
    _in_french(instructor)
    client.force_login(instructor)
    page = _groups(
        client.get(
            reverse("assessments:practical", args=[run.code, assessment.pk])
        ).content.decode()
    )
    assert page.groups[f"m-{enrollment.pk}-{question.pk}-c1"] == [
        f"{enrollment.user.full_name} : {question.text['en']}"
    ]


# Portugal's words where Brazil, whose Portuguese the site speaks, says registrado, salvar,
# aguardando, tela, arquivo, usuário, and "turma" for a course run (as the courses pages do).
EUROPEAN = re.compile(
    r"\b(regist[ao]\w*|guard\w*|a aguardar|ecrã|ficheiros?|utilizador\w*|ediç(ão|ões))\b",
    re.IGNORECASE,
)


def test_the_portuguese_assessments_catalogue_is_brazilian() -> None:
    catalogue = polib.pofile(
        str(Path(settings.BASE_DIR, "assessments", "locale", "pt", "LC_MESSAGES", "django.po"))
    )
    european = [
        (entry.msgid, text)
        for entry in catalogue
        if not entry.obsolete
        for text in [entry.msgstr, *entry.msgstr_plural.values()]
        if EUROPEAN.search(text)
    ]
    assert european == []


def test_the_instructors_pages_read_in_brazilian_portuguese() -> None:
    with translation.override("pt"):
        assert translation.gettext("All my runs") == "Todas as minhas turmas"
        assert translation.gettext("Course run") == "Turma do curso"
        assert (
            translation.ngettext("%(count)d officer recorded.", "%(count)d officers recorded.", 2)
            % {"count": 2}
            == "2 agentes registrados."
        )
        assert translation.gettext("Awaiting grading") == "Aguardando correção"
        assert translation.gettext("Saved") == "Salvo"
