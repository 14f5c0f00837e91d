"""Marking a lesson done ("I have watched the video") says so: the next page shows "Lesson marked
as done." in its status region; marking again records nothing more, and those refused before are
refused as before."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from courses.models import Enrollment, Lesson, LessonProgress, Module
from lms.xapi.models import Statement
from tests.courses.factories import CourseFactory, RunFactory, make_version
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DONE = "Lesson marked as done."


@pytest.fixture
def video_first(learner: Any) -> tuple[Enrollment, list[Lesson]]:
    """An active enrolment in a course of a video, then two text lessons."""
    course = CourseFactory()
    version = make_version(course, lessons=0)
    module = Module.objects.get(version=version)
    lessons = [
        Lesson.objects.create(
            version=version, module=module, position=1, kind=Lesson.Kind.VIDEO,
            title={"en": "Case study"}, video_url="https://video.example.org/case.mp4",
        ),
        *(
            Lesson.objects.create(
                version=version, module=module, position=position, kind=Lesson.Kind.TEXT,
                title={"en": f"Lesson {position}"}, body={"en": f"<p>Body {position}</p>"},
            )
            for position in (2, 3)
        ),
    ]  # fmt: skip
    run = RunFactory(course=course)
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    return enrollment, lessons


def _done_url(enrollment: Enrollment, lesson: Lesson) -> str:
    return reverse("courses:complete", args=[enrollment.registration, lesson.pk])


def _status_region(page: str) -> str:
    found = re.search(
        r'<div class="messages" role="status" aria-live="polite">(.*?)</div>', page, re.S
    )
    return found.group(1) if found else ""


def test_marking_a_lesson_done_confirms_it_in_the_status_region(
    client: Client, learner: Any, video_first: tuple[Enrollment, list[Lesson]]
) -> None:
    enrollment, (video, following, _last) = video_first
    client.force_login(learner)
    with translation.override("en"):
        response = client.post(_done_url(enrollment, video), follow=True)
    assert response.redirect_chain == [
        (reverse("courses:lesson", args=[enrollment.registration, following.pk]), 302)
    ]
    page = response.content.decode()
    assert f'<p class="message message-success">{DONE}</p>' in _status_region(page)
    assert page.count(DONE) == 1
    # Said once: the page after it is quiet.
    with translation.override("en"):
        again = client.get(reverse("courses:lesson", args=[enrollment.registration, following.pk]))
    assert DONE not in again.content.decode()


def test_marking_twice_records_the_lesson_once(
    client: Client, learner: Any, video_first: tuple[Enrollment, list[Lesson]]
) -> None:
    enrollment, (video, _following, _last) = video_first
    client.force_login(learner)
    client.post(_done_url(enrollment, video), follow=True)
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson=video)
    enrollment.refresh_from_db()
    pct, statements = enrollment.progress_pct, Statement.objects.count()
    with translation.override("en"):
        response = client.post(_done_url(enrollment, video), follow=True)
    assert _status_region(response.content.decode()).count(DONE) == 1
    again = LessonProgress.objects.get(enrollment=enrollment, lesson=video)
    assert again.status == LessonProgress.Status.COMPLETED
    assert again.completed_at == progress.completed_at
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == pct
    assert Statement.objects.count() == statements


def test_completing_the_course_says_congratulations_instead(
    client: Client, learner: Any, video_first: tuple[Enrollment, list[Lesson]]
) -> None:
    enrollment, (video, following, last) = video_first
    client.force_login(learner)
    for text_lesson in (following, last):  # a text lesson is done once opened
        client.get(reverse("courses:lesson", args=[enrollment.registration, text_lesson.pk]))
    with translation.override("en"):
        response = client.post(_done_url(enrollment, video), follow=True)
    assert response.redirect_chain[-1][0] == reverse("courses:my_learning")
    status = _status_region(response.content.decode())
    assert "Congratulations: you have completed the course." in status
    assert DONE not in status


def test_someone_else_gets_a_404_and_nothing_is_recorded(
    client: Client, video_first: tuple[Enrollment, list[Lesson]]
) -> None:
    enrollment, (video, _following, _last) = video_first
    client.force_login(UserFactory())
    response = client.post(_done_url(enrollment, video))
    assert response.status_code == 404
    assert DONE not in response.content.decode()
    assert not LessonProgress.objects.filter(enrollment=enrollment).exists()


@pytest.mark.parametrize("status", ["withdrawn", "pending", "waitlisted", "rejected"])
def test_an_enrolment_that_is_not_active_gets_a_403_and_nothing_is_recorded(
    client: Client, learner: Any, video_first: tuple[Enrollment, list[Lesson]], status: str
) -> None:
    enrollment, (video, _following, _last) = video_first
    Enrollment.objects.filter(pk=enrollment.pk).update(status=status)
    client.force_login(learner)
    response = client.post(_done_url(enrollment, video))
    assert response.status_code == 403
    assert DONE not in response.content.decode()
    assert not LessonProgress.objects.filter(enrollment=enrollment).exists()
    # Nor is the confirmation waiting for the next page.
    page = client.get(reverse("courses:my_learning")).content.decode()
    assert DONE not in page


def test_signed_out_is_sent_to_sign_in(video_first: tuple[Enrollment, list[Lesson]]) -> None:
    enrollment, (video, _following, _last) = video_first
    response = Client().post(_done_url(enrollment, video))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    assert not LessonProgress.objects.filter(enrollment=enrollment).exists()
