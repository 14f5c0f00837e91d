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
