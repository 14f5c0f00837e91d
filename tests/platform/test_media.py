"""Uploaded files go only to those their app allows (lms.media): a learner's uploaded answer to
the learner and the run's graders, a dossier's attachment to those who may view the request, a
lesson's document to its learners; certificate PDFs only through their own view; a file that a
browser would run is always a download. To anyone else, the file does not exist (404)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from accreditation.models import RequestAttachment
from assessments import services as assessment_services
from assessments.models import Question
from courses.models import Enrollment
from lms import media
from tests.accreditation.factories import RequestFactory
from tests.assessments.factories import enrol, make_assessment, run_of
from tests.courses.factories import assign_instructor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.LMS_MEDIA_ACCEL_PREFIX = ""


def _get(client: Client, user: Any | None, name: str) -> Any:
    client.logout()
    if user is not None:
        client.force_login(user)
    return client.get(f"/media/{name}")


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_an_uploaded_answer_goes_to_its_learner_and_the_runs_graders(
    client: Client, learner: Any
) -> None:
    assessment = make_assessment(kinds=[Question.Kind.FILE_UPLOAD])
    enrollment = enrol(assessment, learner)
    attempt = assessment_services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=learner
    )
    answer = attempt.answers.get()
    answer.file.save("report.pdf", ContentFile(b"%PDF-1.4 the learner's report"))
    name = answer.file.name
    assert name.startswith(f"assessments/{attempt.pk}/")
    grader = assign_instructor(run_of(assessment))
    other_run_instructor = assign_instructor(run_of(make_assessment()))
    mine = _get(client, learner, name)
    assert mine.status_code == 200
    assert _body(mine) == b"%PDF-1.4 the learner's report"
    assert mine["Content-Type"] == "application/pdf"
    assert mine["X-Content-Type-Options"] == "nosniff"
    assert _get(client, grader, name).status_code == 200
    for refused in (None, UserFactory(), other_run_instructor, enrol(assessment).user):
        assert _get(client, refused, name).status_code == 404


def test_an_uploaded_page_is_a_download_that_cannot_run(client: Client, dps_admin: Any) -> None:
    request = RequestFactory()
    attachment = RequestAttachment.objects.create(request=request, name="evil.html", size=30)
    attachment.file.save("evil.html", ContentFile(b"<script>alert(1)</script>"))
    response = _get(client, dps_admin, attachment.file.name)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    # signed out, or signed in without a part in the request: nothing there
    assert _get(client, None, attachment.file.name).status_code == 404
    assert _get(client, UserFactory(), attachment.file.name).status_code == 404


def test_a_lessons_document_goes_to_its_learners(client: Client, learner: Any) -> None:
    assessment = make_assessment()
    enrollment = enrol(assessment, learner)
    lesson = assessment.lesson.version.lessons.exclude(pk=assessment.lesson_id).first()
    lesson.document.save("guide.pdf", ContentFile(b"%PDF-1.4 guide"))
    name = lesson.document.name
    assert _get(client, learner, name).status_code == 200
    assert _get(client, assign_instructor(run_of(assessment)), name).status_code == 200
    assert _get(client, UserFactory(), name).status_code == 404
    enrollment.status = Enrollment.Status.WITHDRAWN
    enrollment.save()
    assert _get(client, learner, name).status_code == 404


def test_certificates_and_unregistered_folders_are_not_served(
    client: Client, dps_admin: Any
) -> None:
    for name in ("certification/pdf/2026/12/some.pdf", "elsewhere/file.txt"):
        default_storage.save(name, ContentFile(b"secret"))
        assert _get(client, dps_admin, name).status_code == 404
    for path in ("../settings.py", "universities/../../x", "%2e%2e/x"):
        assert client.get(f"/media/{path}").status_code == 404
    assert media.clean_name("../x") is None
    assert media.clean_name("a/./b") == "a/b"


def test_behind_nginx_the_file_is_sent_by_the_proxy(
    client: Client, settings: Any, dps_admin: Any
) -> None:
    settings.LMS_MEDIA_ACCEL_PREFIX = "/protected-media/"
    name = default_storage.save("universities/logo.png", ContentFile(b"\x89PNG"))
    response = client.get(f"/media/{name}")  # a logo is public
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/{name}"
    assert response.content == b""
    assert response["Content-Disposition"].startswith("inline;")


def test_a_lessons_file_goes_to_those_who_teach_any_run_of_its_course_in_few_queries(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    """A course with many runs: its lesson's file is checked in a handful of queries, not one
    per run; an instructor of one run and a coordinator of one host read it, others not."""
    from courses.models import CourseRun
    from tests.factories import InstitutionFactory, RoleAssignmentFactory

    assessment = make_assessment()
    first = run_of(assessment)
    hosts = [InstitutionFactory() for _ in range(3)]
    for index in range(12):
        CourseRun.objects.create(
            course=first.course, version=first.version, code=f"{first.code}-{index}",
            host_institution=hosts[index % 3],
        )  # fmt: skip
    lesson = assessment.lesson.version.lessons.exclude(pk=assessment.lesson_id).first()
    lesson.document.save("guide.pdf", ContentFile(b"%PDF-1.4 guide"))
    name = lesson.document.name
    teacher = assign_instructor(CourseRun.objects.get(code=f"{first.code}-7"))
    coordinator = UserFactory(institution=hosts[2])
    RoleAssignmentFactory(user=coordinator, role="coordinator", institution=hosts[2])
    assert _get(client, teacher, name).status_code == 200
    assert _get(client, coordinator, name).status_code == 200
    outsider = UserFactory(institution=InstitutionFactory())
    RoleAssignmentFactory(user=outsider, role="coordinator", institution=outsider.institution)
    client.force_login(outsider)
    with django_assert_max_num_queries(12):
        assert client.get(f"/media/{name}").status_code == 404


def test_a_video_is_sent_in_the_ranges_a_player_asks_for(client: Client, learner: Any) -> None:
    """Resuming at the saved position, a player asks for the part it plays (206 with its
    Content-Range); a range past the end is 416; without Range the whole file says it takes
    ranges."""
    assessment = make_assessment()
    enrol(assessment, learner)
    lesson = assessment.lesson.version.lessons.exclude(pk=assessment.lesson_id).first()
    body = bytes(range(256)) * 40  # 10,240 bytes
    lesson.video_file.save("case.mp4", ContentFile(body))
    url = f"/media/{lesson.video_file.name}"
    client.force_login(learner)
    whole = client.get(url)
    assert whole.status_code == 200
    assert whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == body
    part = client.get(url, HTTP_RANGE="bytes=1000-1999")
    assert part.status_code == 206
    assert part["Content-Range"] == "bytes 1000-1999/10240"
    assert part["Content-Type"] == "video/mp4"
    assert b"".join(part.streaming_content) == body[1000:2000]
    rest = client.get(url, HTTP_RANGE="bytes=10000-")
    assert (rest.status_code, b"".join(rest.streaming_content)) == (206, body[10000:])
    tail = client.get(url, HTTP_RANGE="bytes=-240")
    assert tail["Content-Range"] == "bytes 10000-10239/10240"
    beyond = client.get(url, HTTP_RANGE="bytes=20000-")
    assert (beyond.status_code, beyond["Content-Range"]) == (416, "bytes */10240")
    # another learner gets nothing, range or not
    client.force_login(UserFactory())
    assert client.get(url, HTTP_RANGE="bytes=0-9").status_code == 404
