"""Who may prepare, review and see accreditation requests (rules registered with the platform's
permissions module from AccreditationConfig.ready())."""

from __future__ import annotations

from typing import Any

from accreditation.models import AccreditationRequest
from lms.accounts.permissions import get_scope, register_rule


def prepares_for(user: Any, course: Any) -> bool:
    """A coordinator of the course's owner institution (or a unit above it), or DPS."""
    if user is None or not user.is_authenticated or course is None:
        return False
    scope = get_scope(user)
    if scope.is_dps:
        return True
    return course.owner_institution_id is not None and scope.coordinates(
        course.owner_institution_id
    )


def _prepares_request(user: Any, request: Any) -> bool:
    if not isinstance(request, AccreditationRequest):
        return False
    scope = get_scope(user)
    if scope.is_dps:
        return True
    return request.owner_institution_id is not None and scope.coordinates(
        request.owner_institution_id
    )


def reviews(user: Any, request: Any) -> bool:
    """Validators of the request's university decide on it; nobody else, not even DPS, since the
    accreditation is the university's act."""
    if not isinstance(request, AccreditationRequest) or not user.is_authenticated:
        return False
    return request.university_id in get_scope(user).university_ids


def sent_to_university(request: AccreditationRequest) -> bool:
    """Whether the request reached its university: not a draft, nor a draft the owner withdrew
    before ever submitting it."""
    if request.status == AccreditationRequest.Status.DRAFT:
        return False
    return not (
        request.status == AccreditationRequest.Status.WITHDRAWN and not request.submission_count
    )


def views_request(user: Any, request: Any) -> bool:
    """The submitter side always; the university's validators once it was submitted; DPS."""
    if not isinstance(request, AccreditationRequest):
        return False
    if _prepares_request(user, request):
        return True
    return reviews(user, request) and sent_to_university(request)


def _uses_portal(user: Any, obj: Any) -> bool:
    return bool(get_scope(user).university_ids)


def attachment_file(user: Any, name: str) -> bool:
    """Whether `user` may read the dossier attachment stored as `name` (lms.media): those who
    may view its request."""
    if not user.is_authenticated:
        return False
    from accreditation.models import RequestAttachment

    attachment = RequestAttachment.objects.filter(file=name).select_related("request").first()
    return attachment is not None and views_request(user, attachment.request)


def register() -> None:
    from lms import media

    media.register("accreditation/", attachment_file)
    register_rule("accreditation.prepare", prepares_for)
    register_rule("accreditation.edit_request", _prepares_request)
    register_rule("accreditation.review", reviews)
    register_rule("accreditation.view_request", views_request)
    register_rule("accreditation.use_portal", _uses_portal)
