"""The video position: saved by the player, resumed, and "watched" at the service's threshold."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from courses import services
from courses.models import Enrollment, Lesson, LessonProgress
from tests.courses.factories import RunFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def video_enrolment(learner: Any) -> tuple[Enrollment, Lesson]:
    run = RunFactory()
    module = run.version.modules.get()
    video = Lesson.objects.create(
        version=run.version, module=module, position=9, kind=Lesson.Kind.VIDEO,
        title={"en": "Case study"}, video_url="https://video.example.org/case.mp4",
    )  # fmt: skip
    return Enrollment.objects.create(user=learner, run=run, version=run.version), video


def _url(enrollment: Enrollment, lesson: Lesson) -> str:
    return reverse("courses:video_position", args=[enrollment.registration, lesson.pk])


def test_the_position_is_saved_and_the_player_resumes_there(
    learner: Any, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    enrollment, video = video_enrolment
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    player = reverse("courses:lesson", args=[enrollment.registration, video.pk])
    page = client.get(player)
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found is not None
    token = found.group(1)
    response = client.post(
        _url(enrollment, video),
        {"position": "125.7", "duration": "600", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 200
    assert response.json() == {"position": 125, "completed": False}
    page = client.get(player).text
    assert 'data-start="125"' in page
    assert "2:05" in page
    assert "courses/player.js" in page
    # Reaching the threshold marks the video watched (once), and the course progresses.
    seconds = int(services.WATCHED_FRACTION * 600)
    for _ in range(2):
        response = client.post(
            _url(enrollment, video),
            {"position": str(seconds), "duration": "600", "csrfmiddlewaretoken": token},
        )
        assert response.json() == {"position": seconds, "completed": True}
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson=video)
    assert (progress.status, progress.position_seconds) == ("completed", seconds)
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 25


def test_just_below_the_threshold_is_not_watched(
    learner: Any, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    enrollment, video = video_enrolment
    progress = services.save_video_position(
        enrollment=enrollment, lesson=video, seconds=int(services.WATCHED_FRACTION * 600) - 1,
        duration=600,
    )  # fmt: skip
    assert progress.status == LessonProgress.Status.STARTED


def test_the_csrf_token_is_required(
    learner: Any, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    enrollment, video = video_enrolment
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    assert client.post(_url(enrollment, video), {"position": "10"}).status_code == 403
    assert not LessonProgress.objects.filter(lesson=video).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [({"position": "abc"}, "position"), ({"position": "-3"}, "position"),
     ({}, "position"), ({"position": "inf"}, "position"),
     ({"position": "10", "duration": "0"}, "duration"),
     # from the bad-input sweep: positions that contradict the video's length
     ({"position": "500", "duration": "100"}, "position"),
     ({"position": "nan", "duration": "100"}, "position"),
     ({"position": "10", "duration": "nan"}, "duration"),
     ({"position": "-1", "duration": "100"}, "position")],
)  # fmt: skip
def test_a_bad_value_is_refused_naming_the_field(
    client: Client, learner: Any, video_enrolment: tuple[Enrollment, Lesson],
    data: dict[str, str], field: str,
) -> None:  # fmt: skip
    enrollment, video = video_enrolment
    client.force_login(learner)
    response = client.post(_url(enrollment, video), data)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not LessonProgress.objects.filter(lesson=video).exists()


def test_the_error_speaks_the_learners_language(
    client: Client, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    enrollment, video = video_enrolment
    enrollment.user.preferred_language = "es"
    enrollment.user.save(update_fields=["preferred_language"])
    client.force_login(enrollment.user)
    response = client.post(_url(enrollment, video), {"position": "abc"})
    assert response.json()["errors"]["position"][0]["message"] == "Introduzca un número."


def test_a_lesson_that_is_not_a_video_is_refused(
    client: Client, learner: Any, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    enrollment, _video = video_enrolment
    text = Lesson.objects.filter(version=enrollment.version, kind=Lesson.Kind.TEXT).first()
    assert text is not None
    client.force_login(learner)
    response = client.post(_url(enrollment, text), {"position": "10"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["lesson"]


def test_another_learner_cannot_save_into_my_progress(
    client: Client, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    enrollment, video = video_enrolment
    client.force_login(UserFactory())
    assert client.post(_url(enrollment, video), {"position": "10"}).status_code == 404
    assert not LessonProgress.objects.filter(lesson=video).exists()


def test_a_learner_no_longer_enrolled_is_refused(
    client: Client, learner: Any, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    enrollment, video = video_enrolment
    Enrollment.objects.filter(pk=enrollment.pk).update(status=Enrollment.Status.WITHDRAWN)
    client.force_login(learner)
    assert client.post(_url(enrollment, video), {"position": "10"}).status_code == 403
    assert not LessonProgress.objects.filter(lesson=video).exists()


def test_anonymous_and_get_are_refused(
    client: Client, learner: Any, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    enrollment, video = video_enrolment
    assert client.post(_url(enrollment, video), {"position": "10"}).status_code == 302
    client.force_login(learner)
    assert client.get(_url(enrollment, video)).status_code == 405


def test_a_lesson_of_another_course_is_not_found(
    client: Client, learner: Any, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    enrollment, _video = video_enrolment
    other = RunFactory()
    foreign = Lesson.objects.filter(version=other.version).first()
    assert foreign is not None
    client.force_login(learner)
    assert client.post(_url(enrollment, foreign), {"position": "10"}).status_code == 404


def test_a_position_save_reads_the_enrolment_row_alone(
    learner: Any, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    """The player's saves come every 15 s from every learner watching a video: the enrolment
    is read without its run, course, version or person (the view knows the person), then
    locked, and the progress written; the learner's own save reaching the end still records
    the completion."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lms.xapi.models import Statement

    enrollment, video = video_enrolment
    client = Client()
    client.force_login(learner)
    assert (
        client.post(_url(enrollment, video), {"position": "15", "duration": "600"}).status_code
        == 200
    )
    with CaptureQueriesContext(connection) as queries:
        response = client.post(_url(enrollment, video), {"position": "30", "duration": "600"})
    assert response.status_code == 200
    reads = [q["sql"] for q in queries.captured_queries if '"courses_enrollment"' in q["sql"]]
    assert reads, queries.captured_queries
    assert not any(
        table in sql
        for sql in reads
        for table in ('"courses_courserun"', '"courses_course"', '"accounts_user"')
    ), reads
    assert not any("accounts_user" in q["sql"] for q in queries.captured_queries)
    done = client.post(_url(enrollment, video), {"position": "600", "duration": "600"})
    assert done.json() == {"position": 600, "completed": True}
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson=video)
    assert progress.status == LessonProgress.Status.COMPLETED
    assert Statement.objects.filter(registration=enrollment.registration).exists()


def _synchronous_commit() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


def test_a_position_save_is_one_statement(
    learner: Any, video_enrolment: tuple[Enrollment, Lesson], require_postgres: None
) -> None:
    """The lock, the progress (created on the first save, moved after) and its answer in one
    round trip; inside a caller's transaction (this test's) the commit's setting is left as the
    caller had it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    enrollment, video = video_enrolment
    for seconds in (40, 55):
        with CaptureQueriesContext(connection) as queries:
            progress = services.save_video_position(
                enrollment=enrollment, lesson=video, seconds=seconds, duration=600
            )
        assert len(queries) == 1, queries.captured_queries
        assert "FOR UPDATE" in queries[0]["sql"]
        assert (progress.position_seconds, progress.status) == (seconds, "started")
        assert _synchronous_commit() == "on"
    stored = LessonProgress.objects.get(enrollment=enrollment, lesson=video)
    assert (stored.pk, stored.position_seconds, stored.status) == (progress.pk, 55, "started")


@pytest.mark.django_db(transaction=True)
def test_a_position_save_in_a_request_does_not_wait_for_the_disk(
    learner: Any, video_enrolment: tuple[Enrollment, Lesson], require_postgres: None
) -> None:
    """In autocommit (as in a request) the save's own transaction commits asynchronously; the
    connection's next transactions are durable again, and the completion at the threshold is
    recorded in a transaction of its own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    enrollment, video = video_enrolment
    with CaptureQueriesContext(connection) as queries:
        services.save_video_position(enrollment=enrollment, lesson=video, seconds=70, duration=600)
    assert "synchronous_commit" in queries[0]["sql"]
    assert "'off'" in queries[0]["sql"]
    assert _synchronous_commit() == "on"
    assert LessonProgress.objects.get(enrollment=enrollment, lesson=video).position_seconds == 70
    progress = services.save_video_position(
        enrollment=enrollment, lesson=video, seconds=600, duration=600
    )
    assert progress.status == LessonProgress.Status.COMPLETED
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 25


def test_the_player_shows_captions_transcript_and_escapes_the_address(
    learner: Any, video_enrolment: tuple[Enrollment, Lesson], settings: Any, tmp_path: Any
) -> None:
    from django.core.files.base import ContentFile
    from django.utils import translation

    settings.MEDIA_ROOT = tmp_path
    enrollment, video = video_enrolment
    video.video_url = 'https://video.example.org/case.mp4?a=1&b="2"'
    video.transcript = {"en": "First line.\n\nSecond <b>line</b>.", "es": "Primera línea."}
    video.captions.save("case.vtt", ContentFile(b"WEBVTT\n"), save=False)
    video.save()
    learner.preferred_language = "es"
    learner.save(update_fields=["preferred_language"])
    client = Client()
    client.force_login(learner)
    player = reverse("courses:lesson", args=[enrollment.registration, video.pk])
    with translation.override("es"):
        page = client.get(player).text
    position = reverse("courses:video_position", args=[enrollment.registration, video.pk])
    done = reverse("courses:complete", args=[enrollment.registration, video.pk])
    assert f'data-position-url="{position}"' in page
    assert f'<form method="post" action="{done}">' in page
    assert 'src="https://video.example.org/case.mp4?a=1&amp;b=&quot;2&quot;"' in page
    assert re.search(
        rf'<track kind="captions" src="[^"]+\.vtt" srclang="{enrollment.run.course.default_language}" label="Subtítulos"',
        page,
    )
    assert "<summary>Transcripción</summary><div><p>Primera línea.</p></div>" in page
    learner.preferred_language = "en"
    learner.save(update_fields=["preferred_language"])
    with translation.override("en"):
        page = client.get(player).text
    assert "<p>First line.</p>\n\n<p>Second &lt;b&gt;line&lt;/b&gt;.</p>" in page
    assert "<b>line</b>" not in page


# From the bad-input sweep: a position just past the end, and withdrawn learners.


def test_a_position_a_little_past_the_end_is_the_end(
    client: Client, learner: Any, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    """Browsers round: a position two seconds past the length is the end of the video."""
    enrollment, video = video_enrolment
    client.force_login(learner)
    response = client.post(_url(enrollment, video), {"position": "102", "duration": "100"})
    assert response.json() == {"position": 100, "completed": True}


def test_a_withdrawn_learner_gets_a_json_refusal(
    client: Client, learner: Any, video_enrolment: tuple[Enrollment, Lesson]
) -> None:
    enrollment, video = video_enrolment
    Enrollment.objects.filter(pk=enrollment.pk).update(status=Enrollment.Status.WITHDRAWN)
    client.force_login(learner)
    response = client.post(_url(enrollment, video), {"position": "10"})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "errors": {
            "registration": [{"message": "Your enrolment is not active.", "code": "inactive"}]
        }
    }
    assert not LessonProgress.objects.filter(lesson=video).exists()
