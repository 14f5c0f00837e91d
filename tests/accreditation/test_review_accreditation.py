"""Review of the accreditation app (helper h2): what a validator sees of a request never
submitted to their university, where the re-review notice sends them, and the history's
language."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accreditation import services
from accreditation.models import AccreditationRequest
from courses.services import editable_version
from lms.accounts.models import Notification
from tests.accreditation.conftest import client_for

pytestmark = pytest.mark.django_db

Status = AccreditationRequest.Status


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def withdrawn_draft(draft: AccreditationRequest, coordinator: Any) -> AccreditationRequest:
    """A draft withdrawn by its owner before it was ever submitted to the university."""
    services.add_comment(request=draft, actor=coordinator, body="Internal note: budget 12000")
    services.add_attachment(
        request=draft,
        actor=coordinator,
        upload=SimpleUploadedFile("secret-syllabus.pdf", b"%PDF-1.4 x", "application/pdf"),
    )
    return services.withdraw_request(request=draft, actor=coordinator)


def test_a_draft_withdrawn_before_submission_stays_hidden_from_the_university(
    withdrawn_draft: AccreditationRequest, validator: Any, coordinator: Any
) -> None:
    client = client_for(validator)
    assert client.get(f"/accreditation/requests/{withdrawn_draft.pk}/").status_code == 403
    portal = client.get("/accreditation/portal/")
    assert f"/accreditation/requests/{withdrawn_draft.pk}/" not in portal.content.decode()
    response = client.post(
        f"/accreditation/requests/{withdrawn_draft.pk}/comment/", {"body": "Seen it"}
    )
    assert response.status_code == 403
    attachment = withdrawn_draft.attachments.get()
    assert client.get(attachment.file.url).status_code in (403, 404)
    assert client_for(coordinator).get(attachment.file.url).status_code == 200


def test_a_request_withdrawn_after_submission_is_still_the_universitys(
    submitted: AccreditationRequest, coordinator: Any, validator: Any
) -> None:
    services.withdraw_request(request=submitted, actor=coordinator)
    client = client_for(validator)
    assert client.get(f"/accreditation/requests/{submitted.pk}/").status_code == 200
    portal = client.get("/accreditation/portal/")
    assert f"/accreditation/requests/{submitted.pk}/" in portal.content.decode()


def test_the_rereview_notice_links_each_side_to_a_page_it_may_open(
    accredited: AccreditationRequest,
    coordinator: Any,
    validator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        editable_version(course=accredited.course_version.course, actor=coordinator)
    for person in (validator, coordinator):
        notice = Notification.objects.get(user=person, subject__contains="re-review")
        assert notice.url
        assert client_for(person).get(notice.url).status_code == 200, person


def test_the_rereview_drafts_history_is_in_the_readers_language(
    accredited: AccreditationRequest,
    coordinator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        editable_version(course=accredited.course_version.course, actor=coordinator)
    draft = AccreditationRequest.objects.get(rereview_of=accredited)
    coordinator.preferred_language = "es"
    coordinator.save(update_fields=["preferred_language"])
    page = client_for(coordinator).get(f"/accreditation/requests/{draft.pk}/")
    assert page.status_code == 200
    assert "Historial" in page.content.decode()
    html = page.content.decode()
    assert "re-review of" not in html
    assert f"Nueva evaluación de la acreditación {accredited.reference}" in html
