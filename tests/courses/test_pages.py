"""Pages: catalogue filters, course page language, lesson player safety and size, scoping."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from courses.models import CourseRun, Enrollment, Lesson
from tests.courses.factories import CourseFactory, RunFactory
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_catalogue_filters_by_language_mode_and_search(client: Client) -> None:
    spanish = RunFactory(language="es", mode=CourseRun.Mode.VIRTUAL)
    french = RunFactory(
        language="fr", mode=CourseRun.Mode.ONSITE,
        course=CourseFactory(title={"fr": "Police de proximité"}),
    )  # fmt: skip
    url = reverse("courses:catalogue")
    assert spanish.course.code in client.get(url, {"language": "es"}).text
    assert french.course.code not in client.get(url, {"language": "es"}).text
    assert french.course.code in client.get(url, {"mode": "onsite"}).text
    found = client.get(url, {"q": "proximité"}).text
    assert french.course.code in found
    assert spanish.course.code not in found


def test_course_page_speaks_the_readers_language(client: Client) -> None:
    run = RunFactory()
    reader = UserFactory(preferred_language="es")
    client.force_login(reader)
    page = client.get(reverse("courses:course", args=[run.course.code])).text
    assert "Derechos humanos en la función policial" in page
    assert "Inscribirme" in page


def test_self_enrolment_from_the_course_page(client: Client, learner: Any) -> None:
    run = RunFactory()
    client.force_login(learner)
    response = client.post(reverse("courses:enrol", args=[run.code]))
    enrollment = Enrollment.objects.get(user=learner, run=run)
    assert response["Location"] == reverse("courses:resume", args=[enrollment.registration])


def test_lesson_html_is_sanitised_and_the_page_is_small(client: Client, learner: Any) -> None:
    run = RunFactory()
    lesson = Lesson.objects.filter(version=run.version).first()
    assert lesson is not None
    lesson.body = {"en": '<p onclick="steal()">Hello<script>alert(1)</script></p>' + "x" * 5000}
    lesson.save()
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    client.force_login(learner)
    response = client.get(reverse("courses:lesson", args=[enrollment.registration, lesson.pk]))
    assert response.status_code == 200
    assert b"<script>alert" not in response.content
    assert b"onclick" not in response.content
    assert len(response.content) < 100 * 1024


def test_another_learners_player_is_not_found(client: Client, learner: Any) -> None:
    run = RunFactory()
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    client.force_login(UserFactory())
    assert client.get(reverse("courses:resume", args=[enrollment.registration])).status_code == 404


def test_institution_enrolments_are_scoped(
    client: Client, coordinator: Any, institution: Any, other_institution: Any
) -> None:
    run = RunFactory()
    own = Enrollment.objects.create(
        user=UserFactory(institution=institution, full_name="Own Officer"), run=run,
        version=run.version, institution=institution,
    )  # fmt: skip
    Enrollment.objects.create(
        user=UserFactory(institution=other_institution, full_name="Foreign Officer"), run=run,
        version=run.version, institution=other_institution,
    )  # fmt: skip
    client.force_login(coordinator)
    page = client.get(reverse("courses:institution_enrollments")).text
    assert own.user.full_name in page
    assert "Foreign Officer" not in page
    client.force_login(UserFactory())
    assert client.get(reverse("courses:institution_enrollments")).status_code == 403


def test_coordinator_bulk_enrols_by_filter(
    client: Client, coordinator: Any, institution: Any, other_institution: Any
) -> None:
    run = RunFactory(host_institution=institution, capacity=2)
    for name in ("Ana Ruiz", "Ana Soto", "Ana Vega", "Beto Paz"):
        UserFactory(institution=institution, full_name=name)
    client.force_login(coordinator)
    url = reverse("courses:enrol_officers", args=[run.code])
    response = client.post(url, {"everyone_matching": "1", "q": "Ana"})
    assert response.status_code == 302
    statuses = sorted(Enrollment.objects.filter(run=run).values_list("status", flat=True))
    assert statuses == ["active", "active", "waitlisted"]
    other = UserFactory()
    RoleAssignmentFactory(user=other, role="coordinator", institution=other_institution)
    client.force_login(other)
    assert client.post(url, {"everyone_matching": "1"}).status_code == 403


def test_my_learning_links_to_the_learners_certificates(client: Client, learner: Any) -> None:
    client.force_login(learner)
    page = client.get(reverse("courses:my_learning")).content.decode()
    assert f'href="{reverse("certification:my_certificates")}"' in page


def test_an_edited_lesson_shows_at_once_despite_the_cache(client: Client, learner: Any) -> None:
    run = RunFactory()
    lesson = Lesson.objects.filter(version=run.version).order_by("position").first()
    assert lesson is not None
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    client.force_login(learner)
    url = reverse("courses:lesson", args=[enrollment.registration, lesson.pk])
    assert "Body 1" in client.get(url).text
    lesson.body = {"en": "<p>Rewritten body</p>"}
    lesson.title = {"en": "Renamed lesson"}
    lesson.save()
    page = client.get(url).text
    assert "Rewritten body" in page
    assert "Renamed lesson" in page


def test_a_lesson_of_another_version_is_not_found(client: Client, learner: Any) -> None:
    run = RunFactory()
    other = (
        Lesson.objects.exclude(version=run.version).first()
        or Lesson.objects.filter(version=RunFactory().version).first()
    )
    assert other is not None
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    client.force_login(learner)
    url = reverse("courses:lesson", args=[enrollment.registration, other.pk])
    assert client.get(url).status_code == 404
    client.force_login(UserFactory())
    own = Lesson.objects.filter(version=run.version).first()
    assert own is not None
    assert (
        client.get(reverse("courses:lesson", args=[enrollment.registration, own.pk])).status_code
        == 404
    )
