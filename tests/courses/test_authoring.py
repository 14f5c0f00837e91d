"""Course authoring outside the admin: who may create and edit courses, their language versions,
modules and lessons of each kind, runs with sessions and instructors; frozen versions."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from courses import services
from courses.models import Course, CourseRun, Lesson, Module, RunInstructor, Session
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def _course_data(institution: Any, **extra: Any) -> dict[str, Any]:
    return {
        "code": "dh-101", "credit_hours": "12.5", "default_language": "es",
        "languages": ["es", "en"], "owner_institution": str(institution.pk),
        "is_published": "on",
        "title_es": "Derechos humanos", "title_en": "Human rights",
        "description_es": "Principios", "outcomes_es": "Aplicar principios\nDocumentar el uso",
        **extra,
    }  # fmt: skip


def test_a_coordinator_creates_a_course_for_their_institution(
    client: Client, coordinator: Any, institution: Any
) -> None:
    client.force_login(coordinator)
    page = client.get(reverse("courses:author_new"))
    assert page.status_code == 200
    # The course, its languages (checkboxes), and one fieldset per language version.
    assert page.text.count("<legend>") == 6
    response = client.post(reverse("courses:author_new"), _course_data(institution))
    course = Course.objects.get(code="dh-101")
    assert response["Location"] == reverse("courses:author_course", args=["dh-101"])
    assert course.owner_institution_id == institution.pk
    assert course.title == {"es": "Derechos humanos", "en": "Human rights"}
    assert course.learning_outcomes == {"es": ["Aplicar principios", "Documentar el uso"]}
    assert str(course.credit_hours) == "12.5"
    assert course.current_version is not None
    assert course.current_version.number == 1


def test_the_course_form_names_each_wrong_field(
    client: Client, coordinator: Any, institution: Any
) -> None:
    client.force_login(coordinator)
    bad = _course_data(institution, code="not a slug", title_es="", languages=["en"])
    response = client.post(reverse("courses:author_new"), bad)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"code", "title_es", "languages"}
    assert 'href="#id_title_es"' in response.text  # the error summary links to the field
    assert 'aria-invalid="true"' in response.text
    assert not Course.objects.exists()


def test_a_title_too_long_is_told_once(client: Client, coordinator: Any, institution: Any) -> None:
    """The length is what is wrong: not also "write it in the course's default language"."""
    client.force_login(coordinator)
    response = client.post(
        reverse("courses:author_new"), _course_data(institution, title_es="x" * 301)
    )
    assert response.status_code == 400
    assert response.context["form"].errors["title_es"] == [
        "Ensure this value has at most 300 characters (it has 301)."
    ]
    assert not Course.objects.exists()


def test_the_form_speaks_spanish(client: Client, coordinator: Any, institution: Any) -> None:
    coordinator.preferred_language = "es"
    coordinator.save()
    client.force_login(coordinator)
    page = client.get(reverse("courses:author_new")).text
    assert "Versión en español" in page
    assert "Guardar el curso" in page


def test_who_may_not_author(
    client: Client, course: Course, instructor: Any, learner: Any, other_institution: Any
) -> None:
    outsider = UserFactory(institution=other_institution)
    RoleAssignmentFactory(user=outsider, role="coordinator", institution=other_institution)
    module = course.current_version.modules.get()  # type: ignore[union-attr]
    urls = [
        reverse("courses:author_course", args=[course.code]),
        reverse("courses:author_module_new", args=[course.code]),
        reverse("courses:author_lesson_new", args=[course.code]) + f"?module={module.pk}",
        reverse("courses:author_run_new", args=[course.code]),
    ]
    for person in (outsider, instructor, learner):
        client.force_login(person)
        for url in urls:
            assert client.get(url).status_code == 403, (person, url)
            assert client.post(url, {"title_es": "x"}).status_code == 403, (person, url)
        move = reverse("courses:author_move", args=[course.code, "module", module.pk])
        assert client.post(move, {"direction": "down"}).status_code == 403
    # Instructors and learners cannot create courses; another institution's coordinator cannot
    # create one for this institution.
    for person in (instructor, learner):
        client.force_login(person)
        assert client.get(reverse("courses:author_new")).status_code == 403
    client.force_login(outsider)
    response = client.post(
        reverse("courses:author_new"), _course_data(course.owner_institution, code="x-1")
    )
    assert response.status_code == 400
    assert "owner_institution" in response.context["form"].errors
    client.logout()
    for url in urls:
        assert client.get(url).status_code == 302
    assert not Course.objects.filter(code="x-1").exists()
    assert Module.objects.filter(version__course=course).count() == 1


def test_dps_staff_author_any_course(client: Client, dps_admin: Any, course: Course) -> None:
    client.force_login(dps_admin)
    assert client.get(reverse("courses:author_course", args=[course.code])).status_code == 200
    listing = client.get(reverse("courses:author_index")).text
    assert course.code in listing


def test_language_versions_modules_and_lessons_of_each_kind(
    client: Client, coordinator: Any, course: Course
) -> None:
    client.force_login(coordinator)
    code = course.code
    edit = client.post(
        reverse("courses:author_course", args=[code]),
        _course_data(course.owner_institution, code=code, languages=["es", "en", "pt", "fr"],
                     title_pt="Direitos humanos", title_fr="Droits humains"),
    )  # fmt: skip
    assert edit.status_code == 302
    course.refresh_from_db()
    assert course.title["fr"] == "Droits humains"
    assert course.code == code  # the code cannot be changed
    response = client.post(reverse("courses:author_module_new", args=[code]), {"title_en": "Two"})
    assert response.status_code == 302
    first, second = course.current_version.modules.order_by("position")  # type: ignore[union-attr]
    new_lesson = reverse("courses:author_lesson_new", args=[code]) + f"?module={first.pk}"
    base = {"estimated_minutes": "10", "is_required": "on"}
    # Text, sanitised once when saved.
    client.post(new_lesson, {**base, "kind": "text", "title_es": "Texto",
                             "body_es": '<p onclick="x()">Hola<script>alert(1)</script></p>'})  # fmt: skip
    # Video: uploaded file with captions and transcript.
    client.post(new_lesson, {
        **base, "kind": "video", "title_es": "Video", "transcript_es": "Lo que se dice.",
        "video_file": SimpleUploadedFile("case.mp4", b"\x00\x00", content_type="video/mp4"),
        "captions": SimpleUploadedFile("case.vtt", b"WEBVTT\n", content_type="text/vtt"),
    })  # fmt: skip
    # Video by link, a document, and external xAPI content.
    client.post(new_lesson, {**base, "kind": "video", "title_es": "Enlace",
                             "video_url": "https://video.example.org/a.mp4"})  # fmt: skip
    client.post(new_lesson, {**base, "kind": "document", "title_es": "Manual",
                             "document": SimpleUploadedFile("manual.pdf", b"%PDF-1.4")})  # fmt: skip
    client.post(new_lesson, {**base, "kind": "xapi", "title_es": "Simulación",
                             "launch_url": "https://content.example.org/sim/index.html",
                             "activity_id": "https://content.example.org/sim"})  # fmt: skip
    lessons = list(Lesson.objects.filter(module=first).order_by("position"))
    assert [lesson.kind for lesson in lessons] == ["text", "video", "video", "document", "xapi"]
    assert lessons[0].body == {"es": "<p>Hola</p>"}
    assert lessons[1].video_file.name.endswith(".mp4")
    assert lessons[1].captions.name.endswith(".vtt")
    assert lessons[1].transcript == {"es": "Lo que se dice."}
    assert lessons[3].document.name.endswith(".pdf")
    # A video with neither file nor link, and a document of a refused type, are named errors.
    missing = client.post(new_lesson, {**base, "kind": "video", "title_es": "Nada"})
    assert missing.status_code == 400
    assert set(missing.context["form"].errors) == {"video_file"}
    script = client.post(new_lesson, {**base, "kind": "document", "title_es": "X",
                                      "document": SimpleUploadedFile("x.exe", b"MZ")})  # fmt: skip
    assert set(script.context["form"].errors) == {"document"}
    for url in ("//evil.example.org/x", "javascript:alert(1)"):
        refused = client.post(
            new_lesson, {**base, "kind": "xapi", "title_es": "X", "launch_url": url}
        )
        assert set(refused.context["form"].errors) == {"launch_url"}
    # Reorder: the last lesson moves up; the second module moves above the first.
    move = reverse("courses:author_move", args=[code, "lesson", lessons[4].pk])
    assert client.post(move, {"direction": "up"}).status_code == 302
    order = list(
        Lesson.objects.filter(module=first).order_by("position").values_list("kind", flat=True)
    )
    assert order == ["text", "video", "video", "xapi", "document"]
    client.post(
        reverse("courses:author_move", args=[code, "module", second.pk]), {"direction": "up"}
    )
    assert list(course.current_version.modules.order_by("position")) == [second, first]  # type: ignore[union-attr]
    # Editing a lesson keeps its file when no new one is uploaded.
    edit_video = reverse("courses:author_lesson", args=[code, lessons[1].pk])
    assert client.get(edit_video).status_code == 200
    assert (
        client.post(edit_video, {**base, "kind": "video", "title_es": "Video 2"}).status_code == 302
    )
    lessons[1].refresh_from_db()
    assert lessons[1].title == {"es": "Video 2"}
    assert lessons[1].video_file


def test_a_frozen_version_is_read_only_until_an_editable_version_is_made(
    client: Client, coordinator: Any, course: Course
) -> None:
    version = course.current_version
    assert version is not None
    module = version.modules.get()
    services.freeze_version(version=version)
    client.force_login(coordinator)
    code = course.code
    page = client.get(reverse("courses:author_course", args=[code])).text
    assert "Make an editable version" in page
    refused = client.post(reverse("courses:author_module_new", args=[code]), {"title_es": "Nuevo"})
    assert refused.status_code == 409
    assert "Make an editable version" in refused.text
    new_lesson = reverse("courses:author_lesson_new", args=[code]) + f"?module={module.pk}"
    assert client.post(new_lesson, {"kind": "text", "title_es": "T", "body_es": "x",
                                    "estimated_minutes": "5"}).status_code == 409  # fmt: skip
    assert client.post(reverse("courses:author_module", args=[code, module.pk]),
                       {"title_es": "Renombrado"}).status_code == 409  # fmt: skip
    assert Module.objects.filter(version=version).count() == 1
    assert Lesson.objects.filter(version=version).count() == 0
    # The offer: an editable copy becomes current; the frozen one is untouched.
    assert client.post(reverse("courses:author_editable", args=[code])).status_code == 302
    course.refresh_from_db()
    assert course.current_version is not None
    assert course.current_version.number == 2
    assert (
        client.post(
            reverse("courses:author_module_new", args=[code]), {"title_es": "Nuevo"}
        ).status_code
        == 302
    )
    assert Module.objects.filter(version=course.current_version).count() == 2
    assert Module.objects.filter(version=version).count() == 1
    # A module of the frozen version cannot be edited through the new one either.
    assert client.post(reverse("courses:author_module", args=[code, module.pk]),
                       {"title_es": "Renombrado"}).status_code == 409  # fmt: skip


def test_a_run_with_instructors_and_sessions(
    client: Client, coordinator: Any, course: Course, institution: Any, other_institution: Any,
    instructor: Any,
) -> None:  # fmt: skip
    client.force_login(coordinator)
    url = reverse("courses:author_run_new", args=[course.code])
    form = client.get(url)
    assert instructor.full_name in form.text
    data = {"code": "dh-101-lima", "mode": "onsite", "language": "es",
            "host_institution": str(institution.pk), "venue": "Aula 3", "capacity": "40",
            "starts_on": "2027-01-10", "ends_on": "2027-01-20", "self_enrolment": "on",
            "instructors": [str(instructor.pk)]}  # fmt: skip
    # Another institution cannot host it for this coordinator.
    refused = client.post(url, {**data, "host_institution": str(other_institution.pk)})
    assert refused.status_code == 400
    assert "host_institution" in refused.context["form"].errors
    response = client.post(url, data)
    run = CourseRun.objects.get(code="dh-101-lima")
    assert response["Location"] == reverse("courses:author_run", args=[run.code])
    assert run.version_id == course.current_version_id
    assert RunInstructor.objects.filter(run=run, user=instructor, role="lead").exists()
    sessions = reverse("courses:author_run", args=[run.code])
    bad = client.post(sessions, {"title": "Día 1", "starts_at": "2027-01-10T09:00",
                                 "ends_at": "2027-01-10T08:00", "room": "3"})  # fmt: skip
    assert bad.status_code == 400
    assert set(bad.context["form"].errors) == {"ends_at"}
    ok = client.post(sessions, {"title": "Día 1", "starts_at": "2027-01-10T09:00",
                                "ends_at": "2027-01-10T12:00", "room": "3"})  # fmt: skip
    assert ok.status_code == 302
    assert Session.objects.get(run=run).title == {"es": "Día 1"}
    # The instructor teaches the run but does not plan its sessions.
    client.force_login(instructor)
    assert client.get(sessions).status_code == 403
    assert (
        client.get(
            reverse("courses:attendance", args=[run.code, Session.objects.get().pk])
        ).status_code
        == 200
    )


def test_instructors_are_assigned_by_those_who_manage_the_run(
    client: Client, coordinator: Any, course: Course, institution: Any, instructor: Any
) -> None:
    run = CourseRun.objects.create(
        course=course, version=course.current_version, code="dh-run", host_institution=institution
    )
    url = reverse("courses:author_run", args=[run.code])
    client.force_login(coordinator)
    bad = client.post(url, {"instructor-user": "0", "instructor-role": "lead"})
    assert bad.status_code == 400
    assert set(bad.context["instructor_form"].errors) == {"user"}
    response = client.post(
        url, {"instructor-user": str(instructor.pk), "instructor-role": "assistant"}
    )
    assert response.status_code == 302
    assert RunInstructor.objects.get(run=run, user=instructor).role == "assistant"
    # The instructor now teaches the run, but does not manage who else does.
    client.force_login(instructor)
    other = UserFactory(institution=institution)
    RoleAssignmentFactory(user=other, role="instructor", institution=institution)
    refused = client.post(url, {"instructor-user": str(other.pk), "instructor-role": "lead"})
    assert refused.status_code == 403
    assert not RunInstructor.objects.filter(run=run, user=other).exists()


def test_the_module_form_asks_each_title_once(
    client: Client, coordinator: Any, course: Course
) -> None:
    """One field per language, in its language's fieldset; no copy of them (with the same names
    and ids) in a fieldset of its own, whose value the server ignored."""
    client.force_login(coordinator)
    page = client.get(reverse("courses:author_module_new", args=[course.code])).text
    for language in ("es", "en", "pt", "fr"):
        assert page.count(f'name="title_{language}"') == 1
        assert page.count(f'id="id_title_{language}"') == 1
    assert page.count("<legend>") == 4  # the four languages' fieldsets only


def test_a_code_that_differs_only_in_letter_case_is_taken(
    coordinator: Any, institution: Any, course: Course
) -> None:
    """HUMAN-RIGHTS beside human-rights would be two courses no one can tell apart."""
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        services.create_course(
            actor=coordinator, owner_institution=institution, code=course.code.upper(),
            title={"es": "Otro"}, default_language="es", languages="es",
        )  # fmt: skip
    assert "code" in refused.value.message_dict
    assert Course.objects.filter(code__iexact=course.code).count() == 1


def test_captions_that_are_not_webvtt_are_refused(coordinator: Any, course: Course) -> None:
    from courses.forms import LessonForm

    def form(content: bytes) -> LessonForm:
        return LessonForm(
            {"kind": "video", "title_es": "Video", "estimated_minutes": "10",
             "video_url": "https://video.example.org/a.mp4"},
            {"captions": SimpleUploadedFile("case.vtt", content, content_type="text/vtt")},
        )  # fmt: skip

    refused = form(b"1\n00:00:01.000 --> 00:00:02.000\nHola\n")
    assert not refused.is_valid()
    assert "captions" in refused.errors
    for good in (b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nHola\n", b"\xef\xbb\xbfWEBVTT\n"):
        accepted = form(good)
        accepted.is_valid()
        assert "captions" not in accepted.errors
