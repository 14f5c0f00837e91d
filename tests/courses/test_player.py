"""The lesson player's hot path: a revisit reads at most one row and writes nothing; access stays
exactly as strict (the owner only, active or completed enrolments only); the page keeps its
markup (progress bar, outline with aria-current, completion marks) and escapes what authors and
learners wrote."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from courses import player_state
from courses.models import Enrollment, Lesson, LessonProgress
from lms.xapi.models import Statement
from tests.courses.factories import CourseFactory, RunFactory, make_version
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _player(learner: Any, lessons: int = 4, **fields: Any) -> tuple[Enrollment, list[int]]:
    course = CourseFactory()
    make_version(course, lessons=lessons)
    run = RunFactory(course=course)
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version, **fields)
    ids = list(
        Lesson.objects.filter(version=run.version).order_by("position").values_list("pk", flat=True)
    )
    return enrollment, ids


@contextmanager
def _reading_in(learner: Any, language: str) -> Iterator[None]:
    """The learner's preferred language set, and active for the requests inside (as the
    middleware makes it for them; for this test only)."""
    learner.preferred_language = language
    learner.save(update_fields=["preferred_language"])
    with translation.override(language):
        yield


def _url(enrollment: Enrollment, lesson_id: int) -> str:
    return reverse("courses:lesson", args=[enrollment.registration, lesson_id])


def _courses_queries(queries: CaptureQueriesContext) -> list[str]:
    """The statements of a request that touch this app's tables (the signed-in user, roles
    and notifications are the platform's, cached or not)."""
    return [q["sql"] for q in queries.captured_queries if "courses_" in q["sql"]]


def test_a_revisit_reads_one_row_and_writes_nothing(
    client: Client, learner: Any, require_postgres: None
) -> None:
    enrollment, ids = _player(learner)
    client.force_login(learner)
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    statements = Statement.objects.count()
    # The first view left its state beside the session (courses.player_state): nothing read.
    with CaptureQueriesContext(connection) as queries:
        page = client.get(_url(enrollment, ids[0]))
    assert page.status_code == 200
    assert _courses_queries(queries) == []
    # Its state not kept (forgotten by a write, and that write's tombstone gone): one row read.
    caches["default"].delete(player_state.key(enrollment.pk))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(_url(enrollment, ids[0]))
    assert page.status_code == 200
    mine = _courses_queries(queries)
    assert len(mine) == 1, mine
    assert mine[0].lstrip().startswith("SELECT")
    # The platform's own reads (user, roles, notifications) at most, whether cached or not.
    assert len(queries) <= 4
    assert not any(
        q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "SAVEPOINT"))
        for q in queries.captured_queries
    )
    assert Statement.objects.count() == statements
    # ... and kept again: the next revisit reads nothing.
    with CaptureQueriesContext(connection) as queries:
        client.get(_url(enrollment, ids[0]))
    assert _courses_queries(queries) == []


def test_the_resume_page_keeps_what_the_lesson_page_reads(
    client: Client, learner: Any, require_postgres: None
) -> None:
    """The resume page reads the learner's enrolment and progress as the lesson page does (one
    query) and keeps them: the lesson it leads to, a revisit, then reads nothing of the course's
    rows."""
    enrollment, ids = _player(learner)
    client.force_login(learner)
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    # Its resume point gone: the first lesson not completed (the kept state forgotten, and the
    # write's tombstone gone).
    Enrollment.objects.filter(pk=enrollment.pk).update(last_lesson=None)
    caches["default"].delete(player_state.key(enrollment.pk))
    resume = reverse("courses:resume", args=[enrollment.registration])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(resume)
    assert response["Location"] == _url(enrollment, ids[1])
    assert len(_courses_queries(queries)) == 1, _courses_queries(queries)
    client.get(_url(enrollment, ids[1]))
    # Back where it stopped, from the kept state: nothing read.
    with CaptureQueriesContext(connection) as queries:
        response = client.get(resume)
        page = client.get(response["Location"])
    assert response["Location"] == _url(enrollment, ids[1])
    assert page.status_code == 200
    assert _courses_queries(queries) == []
    # Someone else's course is not found, a withdrawn one refused.
    client.force_login(UserFactory(institution=learner.institution))
    assert client.get(resume).status_code == 404
    client.force_login(learner)
    Enrollment.objects.filter(pk=enrollment.pk).update(status="withdrawn")
    assert client.get(resume).status_code == 403


def test_first_views_and_moves_still_write(
    client: Client, learner: Any, require_postgres: None
) -> None:
    enrollment, ids = _player(learner)
    client.force_login(learner)
    client.get(_url(enrollment, ids[0]))
    client.get(_url(enrollment, ids[1]))
    enrollment.refresh_from_db()
    assert enrollment.last_lesson_id == ids[1]
    assert enrollment.progress_pct == 50
    assert LessonProgress.objects.filter(enrollment=enrollment, status="completed").count() == 2
    # Back to the first lesson: the resume point moves, nothing else is recorded, and it costs
    # one UPDATE (no lock, no progress reads; the state is kept beside the session).
    statements = Statement.objects.count()
    with CaptureQueriesContext(connection) as queries:
        client.get(_url(enrollment, ids[0]))
    mine = _courses_queries(queries)
    assert len(mine) == 1, mine
    assert mine[0].lstrip().startswith("UPDATE")
    enrollment.refresh_from_db()
    assert enrollment.last_lesson_id == ids[0]
    assert Statement.objects.count() == statements
    # A resume point older than TOUCH_SECONDS is refreshed on a revisit.
    old = timezone.now() - timedelta(hours=1)
    Enrollment.objects.filter(pk=enrollment.pk).update(last_activity_at=old)
    client.get(_url(enrollment, ids[0]))
    enrollment.refresh_from_db()
    assert enrollment.last_activity_at is not None
    assert enrollment.last_activity_at > old


def test_the_player_shows_what_the_database_says_at_once(client: Client, learner: Any) -> None:
    """Progress recorded elsewhere (a graded quiz, an xAPI result) shows on the next view."""
    enrollment, ids = _player(learner)
    client.force_login(learner)
    client.get(_url(enrollment, ids[0]))
    page = client.get(_url(enrollment, ids[0])).content.decode()
    assert page.count('visually-hidden">Completed') == 1
    LessonProgress.objects.create(enrollment=enrollment, lesson_id=ids[2], status="completed")
    Enrollment.objects.filter(pk=enrollment.pk).update(progress_pct=50)
    page = client.get(_url(enrollment, ids[0])).content.decode()
    assert page.count('visually-hidden">Completed') == 2
    assert 'aria-valuenow="50"' in page
    assert "50% of the course done" in page


def test_the_page_keeps_its_markup(client: Client, learner: Any) -> None:
    enrollment, ids = _player(learner)
    client.force_login(learner)
    page = client.get(_url(enrollment, ids[1])).content.decode()
    assert (
        '<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        'aria-valuenow="25" aria-label="Course progress"><span style="width:25%"></span></div>'
    ) in page
    assert "Lesson 2 of 4" in page
    assert '<strong aria-current="page">Lesson 2</strong>' in page
    assert f'<a href="{_url(enrollment, ids[0])}">Lesson 1</a>' in page
    assert f'<a rel="prev" href="{_url(enrollment, ids[0])}">' in page
    assert f'<a rel="next" href="{_url(enrollment, ids[2])}">' in page
    assert "<title>Lesson 2 · " in page
    assert '<div class="lesson-body"><p>Body 2</p></div>' in page


def test_an_optional_lesson_says_so_in_the_outline_and_on_its_page(
    client: Client, learner: Any
) -> None:
    enrollment, ids = _player(learner)
    Lesson.objects.filter(pk=ids[3]).update(is_required=False)
    client.force_login(learner)
    with _reading_in(learner, "es"):
        optional = client.get(_url(enrollment, ids[3])).content.decode()
        required = client.get(_url(enrollment, ids[0])).content.decode()
    assert '<strong aria-current="page">Lección 4</strong> <span class="badge">Opcional</span>' in (
        optional
    )
    assert "<p>Esta lección es opcional: no es necesaria para completar el curso.</p>" in optional
    assert f'<a href="{_url(enrollment, ids[3])}">Lección 4</a> <span class="badge">Opcional' in (
        required
    )
    assert f'<a href="{_url(enrollment, ids[2])}">Lección 3</a></li>' in required
    assert "Esta lección es opcional" not in required


def test_titles_are_escaped_and_bodies_sanitised(client: Client, learner: Any) -> None:
    enrollment, ids = _player(learner)
    Lesson.objects.filter(pk=ids[0]).update(title={"en": "<b>Bold</b> & co"})
    lesson = Lesson.objects.get(pk=ids[1])
    lesson.title = {"en": '<img src=x onerror="alert(1)">'}
    lesson.body = {"en": '<p onclick="steal()">Hi<script>alert(1)</script></p>'}
    lesson.save()
    course = enrollment.run.course
    course.title = {"en": "<i>Course</i>"}
    course.save()
    client.force_login(learner)
    page = client.get(_url(enrollment, ids[1])).content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "<script>alert" not in page
    assert "onclick" not in page
    assert "&lt;i&gt;Course&lt;/i&gt;" in page


def test_a_video_lesson_resumes_and_offers_to_mark_it_watched(client: Client, learner: Any) -> None:
    enrollment, ids = _player(learner, lessons=1)
    video = Lesson.objects.create(
        version=enrollment.version, module=enrollment.version.modules.get(), position=2,
        kind=Lesson.Kind.VIDEO, title={"en": "Case"}, video_url="https://example.org/v.mp4",
        transcript={"en": "Line one\nLine <two>"},
    )  # fmt: skip
    client.force_login(learner)
    client.get(_url(enrollment, video.pk))
    LessonProgress.objects.filter(enrollment=enrollment, lesson=video).update(position_seconds=125)
    page = client.get(_url(enrollment, video.pk)).content.decode()
    assert 'data-start="125"' in page
    assert "You stopped at 2:05" in page
    assert 'src="https://example.org/v.mp4"' in page
    assert reverse("courses:complete", args=[enrollment.registration, video.pk]) in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "<p>Line one<br>Line &lt;two&gt;</p>" in page
    assert "courses/player.js" in page


def test_a_video_lesson_without_its_video_says_so(client: Client, learner: Any) -> None:
    enrollment, ids = _player(learner, lessons=1)
    video = Lesson.objects.create(
        version=enrollment.version, module=enrollment.version.modules.get(), position=2,
        kind=Lesson.Kind.VIDEO, title={"en": "Case"}, transcript={"en": "What was said"},
    )  # fmt: skip
    client.force_login(learner)
    page = client.get(_url(enrollment, video.pk)).content.decode()
    assert "<video" not in page
    assert "The video of this lesson is not available yet" in page
    assert "What was said" in page


def test_only_the_owner_reads_the_player(client: Client, learner: Any) -> None:
    enrollment, ids = _player(learner)
    client.force_login(learner)
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    client.force_login(UserFactory())
    # Someone else, even right after the owner's visit: 404, nothing recorded.
    before = LessonProgress.objects.count()
    assert client.get(_url(enrollment, ids[0])).status_code == 404
    assert client.get(_url(enrollment, ids[1])).status_code == 404
    assert LessonProgress.objects.count() == before
    client.logout()
    assert client.get(_url(enrollment, ids[0])).status_code == 302


@pytest.mark.parametrize("status", ["withdrawn", "pending", "waitlisted", "rejected"])
def test_an_enrolment_that_is_not_active_is_refused(
    client: Client, learner: Any, status: str
) -> None:
    enrollment, ids = _player(learner)
    client.force_login(learner)
    # Even after a visit while it was active (the revisit path).
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    Enrollment.objects.filter(pk=enrollment.pk).update(status=status)
    assert client.get(_url(enrollment, ids[0])).status_code == 403
    assert client.get(_url(enrollment, ids[1])).status_code == 403
    assert not LessonProgress.objects.filter(enrollment=enrollment, lesson_id=ids[1]).exists()


def test_a_completed_enrolment_is_still_readable(client: Client, learner: Any) -> None:
    enrollment, ids = _player(learner, status=Enrollment.Status.COMPLETED)
    client.force_login(learner)
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    assert client.get(_url(enrollment, ids[0])).status_code == 200


def test_reviewing_a_completed_course_keeps_its_progress(client: Client, learner: Any) -> None:
    """Completed (on site, say) with no lesson recorded: opening two of its four text lessons
    to review them leaves it at 100 %, where it was (it fell to 50 %); an active enrolment
    still counts what it has done."""
    enrollment, ids = _player(learner, status=Enrollment.Status.COMPLETED, progress_pct=100)
    active, active_ids = _player(learner)
    Lesson.objects.filter(pk__in=ids + active_ids).update(kind=Lesson.Kind.TEXT, is_required=True)
    client.force_login(learner)
    for lesson_id in ids[:2]:
        assert client.get(_url(enrollment, lesson_id)).status_code == 200
    for lesson_id in active_ids[:2]:
        assert client.get(_url(active, lesson_id)).status_code == 200
    enrollment.refresh_from_db()
    active.refresh_from_db()
    assert LessonProgress.objects.filter(enrollment=enrollment).count() == 2
    assert (enrollment.status, enrollment.progress_pct) == (Enrollment.Status.COMPLETED, 100)
    assert active.progress_pct == 50


def test_a_lesson_of_another_version_is_not_found_on_a_revisit(
    client: Client, learner: Any
) -> None:
    enrollment, ids = _player(learner)
    other, other_ids = _player(learner)
    client.force_login(learner)
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    assert client.get(_url(other, other_ids[0])).status_code == 200
    # Both lessons are cached now; the other version's stays out of this enrolment.
    assert client.get(_url(enrollment, other_ids[0])).status_code == 404
    assert client.get(_url(enrollment, 10**9)).status_code == 404


def test_my_learning_reads_its_page_and_total_in_one_query(client: Client, learner: Any) -> None:
    from courses.views import PAGE_SIZE

    for _ in range(PAGE_SIZE + 5):
        run = RunFactory(course=CourseFactory())
        Enrollment.objects.create(user=learner, run=run, version=run.version)
    Enrollment.objects.create(user=UserFactory(), run=run, version=run.version)
    client.force_login(learner)
    url = reverse("courses:my_learning")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        first = client.get(url).content.decode()
    assert len(_courses_queries(queries)) == 1
    assert first.count('class="card"') == PAGE_SIZE
    assert "Page 1 of 2" in first
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count('class="card"') == 5
    assert "Page 2 of 2" in second
    # Paginator.get_page's answers: a bad number is page 1, past the end the last page.
    assert "Page 1 of 2" in client.get(url, {"page": "x"}).content.decode()
    assert "Page 2 of 2" in client.get(url, {"page": 9}).content.decode()


def test_my_learning_without_enrolments(client: Client) -> None:
    client.force_login(UserFactory())
    page = client.get(reverse("courses:my_learning"), {"page": 3}).content.decode()
    catalogue = reverse("courses:catalogue")
    assert (
        f'<p>You are not enrolled in any course yet. <a href="{catalogue}">Browse the catalogue</a>'
        "</p>"
    ) in page
    assert 'class="cards"' not in page  # a sentence across the page, not a card


def test_my_learning_cards_keep_their_markup(client: Client, learner: Any) -> None:
    active, ids = _player(learner, last_lesson=None)
    Enrollment.objects.filter(pk=active.pk).update(progress_pct=40, attendance_pct=75)
    course = CourseFactory(title={"en": "<i>Waiting</i>"})
    run = RunFactory(course=course, mode="onsite")
    Enrollment.objects.create(user=learner, run=run, version=run.version, status="waitlisted")
    client.force_login(learner)
    page = client.get(reverse("courses:my_learning")).content.decode()
    assert page.count('class="card"') == 2
    assert "&lt;i&gt;Waiting&lt;/i&gt;" in page
    assert '<span class="badge">On the waiting list</span> On-site' in page
    assert (
        '<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        'aria-valuenow="40" aria-label="Progress"><span style="width:40%"></span></div>'
    ) in page
    assert "40% done · attendance 75%" in page
    resume = reverse("courses:resume", args=[active.registration])
    assert f'<a class="button primary" href="{resume}">Start</a>' in page
    assert page.count('name="csrfmiddlewaretoken"') >= 2
    assert reverse("courses:withdraw", args=[active.registration]) in page
    client.get(_url(active, ids[0]))
    assert f'href="{resume}">Continue</a>' in client.get(reverse("courses:my_learning")).text
    Enrollment.objects.filter(user=learner).update(status="withdrawn")
    page = client.get(reverse("courses:my_learning")).content.decode()
    assert "Continue</a>" not in page
    assert reverse("courses:withdraw", args=[active.registration]) not in page


def test_a_completed_course_offers_a_review(client: Client, learner: Any) -> None:
    done, _ids = _player(learner, last_lesson=None, status="completed", progress_pct=100)
    client.force_login(learner)
    resume = reverse("courses:resume", args=[done.registration])
    page = client.get(reverse("courses:my_learning")).text
    assert f'<a class="button primary" href="{resume}">Review the course</a>' in page
    assert ">Start</a>" not in page
    with _reading_in(learner, "pt"):
        page = client.get(reverse("courses:my_learning")).text
    assert f'href="{resume}">Rever o curso</a>' in page


def test_cards_tell_two_runs_of_one_course_apart(
    client: Client, learner: Any, institution: Any, other_institution: Any
) -> None:
    """An on-site cohort and the virtual course of the same course: each card names its host
    (short name, else name, escaped) and its dates as the reader's language writes them."""
    course = CourseFactory(title={"en": "Human rights", "es": "Derechos humanos"})
    institution.short_name = "ANP <Bogotá>"
    institution.save(update_fields=["short_name"])
    onsite = RunFactory(
        course=course, mode="onsite", host_institution=institution,
        starts_on=date(2026, 12, 1), ends_on=date(2026, 12, 24),
    )  # fmt: skip
    other_institution.short_name = ""  # no short name: its name
    other_institution.save(update_fields=["short_name"])
    virtual = RunFactory(course=course, host_institution=other_institution)
    for run in (onsite, virtual):
        Enrollment.objects.create(user=learner, run=run, version=run.version, status="active")
    client.force_login(learner)
    page = client.get(reverse("courses:my_learning")).text
    nbsp = "\u00a0"  # a date stays on one line
    dates = f"1{nbsp}Dec{nbsp}2026 – 24{nbsp}Dec{nbsp}2026"
    assert f'<p class="run-meta">ANP &lt;Bogotá&gt; · {dates}</p>' in page
    assert f'<p class="run-meta">{other_institution.name}</p>' in page
    with _reading_in(learner, "es"):
        page = client.get(reverse("courses:my_learning")).text
    assert f"ANP &lt;Bogotá&gt; · 1{nbsp}Dic{nbsp}2026 – 24{nbsp}Dic{nbsp}2026" in page


def test_my_learning_and_the_player_speak_each_readers_language(
    client: Client, learner: Any
) -> None:
    """The cards' and the player's fixed text is translated once per language and kept: a
    French page and then a Spanish one in the same process each get their own."""
    active, ids = _player(learner, last_lesson=None)
    client.force_login(learner)
    client.get(_url(active, ids[0]))  # opened once: the pages below are revisits
    Enrollment.objects.filter(pk=active.pk).update(progress_pct=40, attendance_pct=75)
    run = RunFactory(mode="onsite")
    Enrollment.objects.create(user=learner, run=run, version=run.version, status="waitlisted")
    expected = {
        "fr": ["<span class=\"badge\">Sur liste d&#x27;attente</span> En présentiel",
               "40% effectué · assiduité 75%", 'aria-label="Progression"', ">Continuer</a>",
               f"Leçon 1 sur {len(ids)}"],
        "es": ['<span class="badge">En lista de espera</span> Presencial',
               "40% realizado · asistencia 75%", 'aria-label="Avance"', ">Continuar</a>",
               f"Lección 1 de {len(ids)}"],
    }  # fmt: skip
    for language, texts in expected.items():
        with _reading_in(learner, language):
            cards = client.get(reverse("courses:my_learning")).text
            lesson = client.get(_url(active, ids[0])).text
        for text in texts[:-1]:
            assert text in cards
        assert texts[-1] in lesson


@pytest.mark.parametrize("name", ["courses:lesson", "courses:complete", "courses:launch",
                                  "courses:video_position"])  # fmt: skip
@pytest.mark.parametrize(
    "registration",
    ["3f2a9c1e-1234-4321-8765-4e5f6a7b8c9d", "3f2a9c1e-1234-4321-8765-098765432100"],
)
def test_the_players_links_are_what_reverse_gives(name: str, registration: str) -> None:
    """The player builds its links from one reversed template per route; a registration whose
    digits hold the template's sentinel lesson id still comes out whole."""
    from courses.player import _route

    for lesson_id in (0, 7, 987654321, 123456789012):
        assert _route(name, registration, lesson_id) == reverse(
            name, args=[registration, lesson_id]
        )
