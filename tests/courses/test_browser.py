"""In Chromium: a Spanish-speaking learner enrols in a virtual course and completes it."""

from __future__ import annotations

from typing import Any

import pytest

from courses.models import Enrollment, Lesson
from tests.conftest import login_cookie
from tests.courses.factories import CourseFactory, RunFactory, make_version
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_learner_completes_a_virtual_course_in_spanish(live_server: Any, browser: Any) -> None:
    course = CourseFactory(title={"en": "Use of force", "es": "Uso de la fuerza"})
    version = make_version(course, lessons=2)
    video = Lesson.objects.create(
        version=version, module=version.modules.get(), position=3, kind=Lesson.Kind.VIDEO,
        title={"en": "Case study", "es": "Caso práctico"},
        transcript={"es": "Una patrulla reduce la tensión."},
    )  # fmt: skip
    run = RunFactory(course=course, version=version)
    learner = UserFactory(preferred_language="es")
    context = browser.new_context()
    context.add_cookies([login_cookie(learner, live_server.url)])
    page = context.new_page()
    page.goto(f"{live_server.url}/courses/c/{course.code}/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", level=1).inner_text() == "Uso de la fuerza"
    page.get_by_role("button", name="Inscribirme").click()
    page.get_by_role("heading", name="Lección 1").wait_for()
    assert "Contenido 1" in page.content()
    page.get_by_role("link", name="Siguiente").click()
    page.get_by_role("heading", name="Lección 2").wait_for()
    page.get_by_role("link", name="Siguiente").click()
    page.get_by_role("heading", name="Caso práctico").wait_for()
    assert page.get_by_text("Una patrulla reduce la tensión.").is_visible()
    page.get_by_role("button", name="He visto el video").click()
    page.get_by_text("Felicitaciones: ha completado el curso.").wait_for()
    assert page.get_by_role("heading", name="Mi aprendizaje").is_visible()
    context.close()
    enrollment = Enrollment.objects.get(user=learner, run=run)
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert enrollment.progress_pct == 100
    assert enrollment.lesson_progress.filter(lesson=video, status="completed").exists()


# Headless Chromium has no media to play here: the page's <video> gets a stand-in clock
# (currentTime and duration) so that player.js runs as written, over real HTTP, CSRF and
# sendBeacon.
FAKE_CLOCK = """
Object.defineProperty(HTMLMediaElement.prototype, "currentTime", {
  configurable: true,
  get() { return window.__now || 0; },
  set(value) { window.__seekedTo = value; },
});
Object.defineProperty(HTMLMediaElement.prototype, "duration", {
  configurable: true, get() { return 600; },
});
"""


def _wait_for(check: Any, seconds: float = 10.0) -> Any:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    return check()


@pytest.mark.django_db(transaction=True)
def test_the_player_saves_and_resumes_the_video_position(live_server: Any, browser: Any) -> None:
    from courses.models import LessonProgress

    course = CourseFactory()
    version = make_version(course, lessons=1)
    video = Lesson.objects.create(
        version=version, module=version.modules.get(), position=2, kind=Lesson.Kind.VIDEO,
        title={"en": "Case study"}, video_url=f"{live_server.url}/static/none.mp4",
    )  # fmt: skip
    run = RunFactory(course=course, version=version)
    learner = UserFactory()
    enrollment = Enrollment.objects.create(user=learner, run=run, version=version)
    context = browser.new_context()
    context.add_init_script(FAKE_CLOCK)
    context.add_cookies([login_cookie(learner, live_server.url)])
    page = context.new_page()
    url = f"{live_server.url}/courses/learn/{enrollment.registration}/{video.pk}/"
    page.goto(url)
    page.wait_for_selector("video[data-position-url]")
    # Pausing at 2:05 saves the position with a beacon.
    page.evaluate(
        "window.__now = 125.4; document.querySelector('video').dispatchEvent(new Event('pause'))"
    )

    def saved() -> int:
        row = LessonProgress.objects.filter(enrollment=enrollment, lesson=video).first()
        return row.position_seconds if row else 0

    assert _wait_for(lambda: saved() == 125)
    # Back on the page, the player seeks to where the learner stopped.
    page.goto(url)
    page.wait_for_selector("video[data-start='125']")
    assert "2:05" in page.content()
    page.evaluate("document.querySelector('video').dispatchEvent(new Event('loadedmetadata'))")
    assert page.evaluate("window.__seekedTo") == 125
    # Reaching the end marks the video watched.
    page.evaluate(
        "window.__now = 600; document.querySelector('video').dispatchEvent(new Event('ended'))"
    )
    assert _wait_for(
        lambda: LessonProgress.objects.filter(
            enrollment=enrollment, lesson=video, status="completed"
        ).exists()
    )
    context.close()
