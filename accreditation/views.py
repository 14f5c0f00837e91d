"""Pages of the accreditation app: the owner's requests and dossier, the request page where both
sides meet, and the validator's portal. Thin: parse, call one service or selector, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accreditation import selectors, services
from accreditation.forms import (
    ApproveForm,
    AssignReviewerForm,
    AttachmentForm,
    CommentForm,
    DossierForm,
    NewRequestForm,
    ReasonForm,
)
from accreditation.models import AccreditationRequest
from accreditation.permissions import prepares_for
from courses.models import Course, CourseVersion
from lms.accounts.permissions import get_scope, has_perm
from lms.ids import as_id

PAGE_SIZE = 25


def _get_request(http: HttpRequest, pk: int, perm: str = "accreditation.view_request") -> Any:
    obj = get_object_or_404(
        AccreditationRequest.objects.select_related(
            "course_version__course", "university", "owner_institution", "rereview_of"
        ),
        pk=pk,
    )
    if not has_perm(http.user, perm, obj):
        raise PermissionDenied(perm)
    return obj


def _nav(user: Any) -> dict[str, bool]:
    """Which of the section's pages the person may open (accreditation/_nav.html links only
    those): the owner side's requests (DPS, coordinators) and the validator portal."""
    scope = get_scope(user)
    return {
        "nav_requests": bool(scope.is_dps or scope.coordinated_paths),
        "nav_portal": bool(scope.university_ids),
    }


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The requests of the courses the person's institutions own."""
    scope = get_scope(request.user)
    if not (scope.is_dps or scope.coordinated_paths):
        if scope.university_ids:
            return redirect("accreditation:portal")
        raise PermissionDenied("accreditation.prepare")
    page = Paginator(selectors.requests_for_owner(scope), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "accreditation/index.html", {"page_obj": page, **_nav(request.user)})


def _versions_for(user: Any) -> Any:
    scope = get_scope(user)
    courses = Course.objects.filter(scope.institution_filter("owner_institution"))
    return (
        CourseVersion.objects.filter(course__in=courses)
        .select_related("course")
        .order_by("course__code", "-number")
    )


@login_required
def new_request(request: HttpRequest) -> HttpResponse:
    scope = get_scope(request.user)
    if not (scope.is_dps or scope.coordinated_paths):
        raise PermissionDenied("accreditation.prepare")
    form = NewRequestForm(
        request.POST or None,
        versions=_versions_for(request.user),
        initial={"course_version": request.GET.get("version")},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            created = services.create_request(
                course_version=form.cleaned_data["course_version"],
                university=form.cleaned_data["university"],
                actor=request.user,
            )
            messages.success(request, _("Draft saved. Complete the dossier, then submit it."))
            return redirect("accreditation:edit", pk=created.pk)
        status = 400
    return render(request, "accreditation/new.html", {"form": form}, status=status)


@login_required
def edit_request(request: HttpRequest, pk: int) -> HttpResponse:
    """The dossier form; refused (409) once the request was submitted."""
    obj = _get_request(request, pk, "accreditation.edit_request")
    if not obj.is_editable:
        return _detail(
            request,
            obj,
            status=409,
            error=_("This request was submitted and is frozen: it cannot be edited."),
        )
    form = DossierForm(request.POST or None, initial=DossierForm.initial_for(obj))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.update_request(request=obj, actor=request.user, **form.cleaned_data)
            except services.IllegalTransition as exc:
                return _detail(request, obj, status=409, error=str(exc.message))
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("The dossier was saved."))
                return redirect("accreditation:detail", pk=obj.pk)
        status = 400
    return render(
        request,
        "accreditation/edit.html",
        {"req": obj, "form": form, "attachment_form": AttachmentForm()},
        status=status,
    )


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _get_request(request, pk))


def _detail(
    request: HttpRequest,
    obj: AccreditationRequest,
    *,
    status: int = 200,
    error: str = "",
    forms: dict[str, Any] | None = None,
) -> HttpResponse:
    # Every render of the request page (its GET, and the errors of the steps and the dossier
    # form) shows the dossier: only to whoever may view the request.
    if not has_perm(request.user, "accreditation.view_request", obj):
        raise PermissionDenied("accreditation.view_request")
    is_owner = prepares_for(request.user, obj.course_version.course)
    is_reviewer = has_perm(request.user, "accreditation.review", obj)
    can_withdraw = is_owner and obj.status in services.WITHDRAWABLE_STATUSES
    context: dict[str, Any] = {
        "req": obj,
        "is_owner": is_owner,
        "can_edit": is_owner and obj.is_editable,
        "can_withdraw": can_withdraw,
        "is_reviewer": is_reviewer,
        "error": error,
        "timeline": selectors.timeline(obj),
        "comments": selectors.comments(obj),
        "submissions": obj.submissions.select_related("submitted_by").order_by("-number"),
        "conditions": obj.conditions.all(),
        "attachments": obj.attachments.all(),
        "reviewers": obj.reviewers.order_by("full_name"),
        "comment_form": CommentForm(),
        "reason_form": ReasonForm(),
        "approve_form": ApproveForm(
            initial={"credit_hours": obj.total_hours, "quality_assurance": ""}
        ),
        "assign_form": AssignReviewerForm(reviewers=selectors.validators_of(obj.university_id)),
        "can_decide": is_reviewer
        and obj.status
        in (AccreditationRequest.Status.SUBMITTED, AccreditationRequest.Status.IN_REVIEW),
    }
    context.update(forms or {})
    context.update(_nav(request.user))
    return render(request, "accreditation/detail.html", context, status=status)


ACTIONS: dict[str, str] = {
    "submit": "accreditation.edit_request",
    "withdraw": "accreditation.edit_request",
    "attach": "accreditation.edit_request",
    "start-review": "accreditation.review",
    "assign": "accreditation.review",
    "request-changes": "accreditation.review",
    "approve": "accreditation.review",
    "reject": "accreditation.review",
    "comment": "accreditation.view_request",
    "fulfil": "accreditation.review",
}


@login_required
@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One state-machine step (or a comment) posted from the request page."""
    if action not in ACTIONS:
        return HttpResponse(status=404)
    # Refused as the request's page is (a validator, before the request is submitted) before the
    # step's own permission, and so before any form or transition error renders the page.
    obj = _get_request(request, pk)
    if not has_perm(request.user, ACTIONS[action], obj):
        raise PermissionDenied(ACTIONS[action])
    user = request.user
    done: Callable[[], Any]
    form: Any = None
    form_name = ""
    if action == "submit":

        def done() -> Any:
            return services.submit_request(request=obj, actor=user)

        success = _("Submitted to %(university)s.") % {"university": obj.university.name}
    elif action == "withdraw":

        def done() -> Any:
            return services.withdraw_request(request=obj, actor=user)

        success = _("The request was withdrawn.")
    elif action == "start-review":

        def done() -> Any:
            return services.start_review(request=obj, actor=user)

        success = _("Review started.")
    elif action == "attach":
        form, form_name = AttachmentForm(request.POST, request.FILES), "attachment_form"
        if not form.is_valid():
            if not obj.is_editable:
                return _detail(
                    request,
                    obj,
                    status=409,
                    error=_("This request was submitted and is frozen: it cannot be edited."),
                )
            # The attachment form is on the dossier page: shown again there with its error.
            return render(
                request,
                "accreditation/edit.html",
                {
                    "req": obj,
                    "form": DossierForm(initial=DossierForm.initial_for(obj)),
                    "attachment_form": form,
                },
                status=400,
            )

        def done() -> Any:
            return services.add_attachment(
                request=obj, actor=user, upload=form.cleaned_data["file"]
            )

        success = _("The file was attached.")
    elif action == "assign":
        form, form_name = (
            AssignReviewerForm(request.POST, reviewers=selectors.validators_of(obj.university_id)),
            "assign_form",
        )

        def done() -> Any:
            return services.assign_reviewer(
                request=obj, reviewer=form.cleaned_data["reviewer"], actor=user
            )

        success = _("Reviewer assigned.")
    elif action == "comment":
        form, form_name = CommentForm(request.POST), "comment_form"

        def done() -> Any:
            return services.add_comment(request=obj, actor=user, body=form.cleaned_data["body"])

        success = _("Comment posted.")
    elif action == "fulfil":
        # The page posts a condition's number: anything else (letters, other digits, a number
        # longer than any id, a condition of another request) is refused naming the field.
        condition_id = as_id(request.POST.get("condition", ""))
        condition = (
            obj.conditions.filter(pk=condition_id).first() if condition_id is not None else None
        )
        if condition is None:
            return _detail(
                request,
                obj,
                status=400,
                error=_("Condition: choose one of the conditions of this accreditation."),
            )

        def done() -> Any:
            return services.fulfil_condition(condition=condition, actor=user)

        success = _("The condition is recorded as fulfilled.")
    elif action in ("request-changes", "reject"):
        form, form_name = ReasonForm(request.POST), "reason_form"
        step = services.request_changes if action == "request-changes" else services.reject

        def done() -> Any:
            return step(request=obj, actor=user, reason=form.cleaned_data["reason"])

        success = (
            _("The owner was asked for changes.")
            if action == "request-changes"
            else _("The request was rejected.")
        )
    else:  # approve
        form, form_name = ApproveForm(request.POST), "approve_form"

        def done() -> Any:
            data = form.cleaned_data
            common = {
                "request": obj,
                "actor": user,
                "credit_hours": data["credit_hours"],
                "hours_per_credit": data["ects_hours_per_credit"],
                "valid_from": data["valid_from"],
                "validity_years": data["validity_years"],
                "quality_assurance": data["quality_assurance"],
            }
            if data["conditions"]:
                return services.approve_with_conditions(conditions=data["conditions"], **common)
            return services.approve(**common)

        success = _("The course version is accredited.")
    if form is not None and not form.is_valid():
        return _detail(request, obj, status=400, forms={form_name: form})
    try:
        done()
    except services.IllegalTransition as exc:
        return _detail(request, obj, status=409, error=str(exc.message))
    except ValidationError as exc:
        if form is None:
            # Nothing typed to keep: back to the request page with the reasons (post/redirect/
            # get, so that reloading it does not post the step again).
            for message in _messages(exc):
                messages.error(request, message)
            return HttpResponseRedirect(reverse("accreditation:detail", args=[obj.pk]))
        _add_errors(form, exc)
        return _detail(request, obj, status=400, forms={form_name: form})
    messages.success(request, success)
    return HttpResponseRedirect(reverse("accreditation:detail", args=[obj.pk]))


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [message for errors in exc.message_dict.values() for message in errors]
    return list(exc.messages)


@login_required
def portal(request: HttpRequest) -> HttpResponse:
    """The validator's portal: their university's requests, decisions and re-review flags."""
    scope = get_scope(request.user)
    if not has_perm(request.user, "accreditation.use_portal"):
        raise PermissionDenied("accreditation.use_portal")
    requests = selectors.requests_for_university(scope.university_ids)
    status = request.GET.get("status", "")
    if status in AccreditationRequest.Status.values:
        requests = requests.filter(status=status)
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "accreditation/portal.html",
        {
            "page_obj": page,
            "status": status,
            "statuses": AccreditationRequest.Status.choices,
            "query_string": f"status={status}" if status else "",
            "accredited": selectors.accredited_for_university(scope.university_ids)[:50],
            "rereview": selectors.rereview_flags(scope.university_ids)[:50],
            **_nav(request.user),
        },
    )


@login_required
def outcomes(request: HttpRequest, pk: int) -> HttpResponse:
    """Outcomes of an accredited course version by member state."""
    obj = _get_request(request, pk)
    if not obj.is_approved:
        raise PermissionDenied("accreditation.outcomes")
    rows = selectors.outcomes_by_member_state(course_version_id=obj.course_version_id)
    return render(
        request,
        "accreditation/outcomes.html",
        {"req": obj, "rows": rows, "bands": [label for label, _l, _h in selectors.SCORE_BANDS]},
    )


def universities(request: HttpRequest) -> HttpResponse:
    """The network of partner universities and its coordinating university."""
    page = Paginator(selectors.network(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accreditation/universities.html", {"page_obj": page})
