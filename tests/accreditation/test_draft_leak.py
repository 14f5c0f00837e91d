"""A draft is not the university's to see: its validators are refused every step posted on it as
they are refused its page (403), before any form or transition error renders the request page
(the dossier, its attachments, reviewers, comments and history)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accreditation import services
from accreditation.models import AccreditationRequest
from tests.accreditation.conftest import client_for

pytestmark = pytest.mark.django_db

Status = AccreditationRequest.Status

# What each step posts: valid data, invalid data and nothing at all, so that whichever path the
# step took before the fix (a 409 transition error, a 400 form error) is tried.
POSTS: dict[str, list[dict[str, Any]]] = {
    "start-review": [{}],
    "reject": [{}, {"reason": "No"}],
    "request-changes": [{}, {"reason": "More hours"}],
    "approve": [
        {},
        {
            "credit_hours": "75",
            "ects_hours_per_credit": "25",
            "valid_from": "2026-01-01",
            "validity_years": "3",
        },
    ],
    "assign": [{}, {"reviewer": "0"}],
    "fulfil": [{}, {"condition": "0"}],
    "comment": [{}, {"body": "Looks fine"}],
    "submit": [{}],
    "withdraw": [{}],
    "attach": [{}],
}


@pytest.fixture
def draft_with_secrets(draft: AccreditationRequest, coordinator: Any) -> AccreditationRequest:
    """The draft with what must not leak: a comment, an attachment, the dossier's names."""
    services.add_comment(request=draft, actor=coordinator, body="Internal note: budget 12000")
    services.add_attachment(
        request=draft,
        actor=coordinator,
        upload=SimpleUploadedFile("secret-syllabus.pdf", b"%PDF-1.4 x", "application/pdf"),
    )
    return draft


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


LEAKS = ("Ana Gil", "Use of force", "secret-syllabus", "Internal note", "legality")


@pytest.mark.parametrize("action", sorted(POSTS))
def test_a_validator_is_refused_every_step_on_a_draft_as_its_page(
    draft_with_secrets: AccreditationRequest, validator: Any, action: str
) -> None:
    client = client_for(validator)
    page = client.get(reverse("accreditation:detail", args=[draft_with_secrets.pk]))
    assert page.status_code == 403
    url = reverse("accreditation:act", args=[draft_with_secrets.pk, action])
    for data in POSTS[action]:
        response = client.post(url, data)
        assert response.status_code == page.status_code, (action, data, response.status_code)
        body = response.content.decode()
        assert not [leak for leak in LEAKS if leak in body], (action, data)
    draft_with_secrets.refresh_from_db()
    assert draft_with_secrets.status == Status.DRAFT
    assert draft_with_secrets.comments.count() == 1


def test_a_validator_of_a_submitted_request_still_sees_its_errors(
    submitted: AccreditationRequest, validator: Any
) -> None:
    """Once submitted the request is theirs to see: a refused step renders the page with its
    reason, as before."""
    client = client_for(validator)
    response = client.post(reverse("accreditation:act", args=[submitted.pk, "reject"]), {})
    assert response.status_code == 400
    assert "Ana Gil" in response.content.decode()
    services.reject(request=submitted, actor=validator, reason="No")
    again = client.post(reverse("accreditation:act", args=[submitted.pk, "start-review"]))
    assert again.status_code == 409


def test_the_owner_still_acts_on_the_draft(draft: AccreditationRequest, coordinator: Any) -> None:
    client = client_for(coordinator)
    response = client.post(
        reverse("accreditation:act", args=[draft.pk, "comment"]), {"body": "Draft note"}
    )
    assert response.status_code == 302
    refused = client.post(reverse("accreditation:act", args=[draft.pk, "start-review"]))
    assert refused.status_code == 403
