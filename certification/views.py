"""Pages of the certification app: public verification (page and JSON), the learner's
certificates and downloads, revocation, bulk issuance with live progress, bulk verification,
and the issuer's published key and status list."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from certification import credentials, ratelimit, selectors, services
from certification.codes import display_code, is_well_formed, normalise_code
from certification.forms import BulkVerifyForm, RevokeForm, VerifyForm
from certification.models import BulkIssuance, Certificate
from courses.models import CourseRun
from lms.accounts.permissions import has_perm
from lms.chrome import render_page


def _too_many(request: HttpRequest, as_json: bool = False) -> HttpResponse:
    message = _("Too many verification requests from your address. Try again in a minute.")
    if as_json:
        return JsonResponse({"error": message}, status=429)
    return render(request, "certification/rate_limited.html", {"message": message}, status=429)


def verify_form(request: HttpRequest) -> HttpResponse:
    """The public form: type the code printed on a certificate."""
    form = VerifyForm(request.GET or None)
    if request.GET and form.is_valid():
        return redirect("certification:verify", code=form.cleaned_data["code"])
    # The bulk page's link only for those it serves (DPS and university validators).
    can_verify_many = has_perm(request.user, "certification.verify_many")
    return render(
        request,
        "certification/verify_form.html",
        {"form": form, "can_verify_many": can_verify_many},
    )


def _lookup(request: HttpRequest, code: str) -> tuple[str, Certificate | None]:
    normalised = normalise_code(code)
    if not is_well_formed(normalised):
        return normalised, None
    return normalised, selectors.certificate_by_code(normalised)


def verify(request: HttpRequest, code: str) -> HttpResponse:
    """The public verification page of one certificate, in the visitor's language."""
    if not ratelimit.allow(request, "verify"):
        return _too_many(request)
    normalised, certificate = _lookup(request, code)
    if certificate is None:
        return render(request, "certification/verify_unknown.html", {"code": code[:40]}, status=404)
    if normalised != code:
        return redirect("certification:verify", code=normalised)
    facts = selectors.public_facts(certificate, get_language() or "en")
    body = render_to_string(
        "certification/includes/verify_body.html",
        {
            "facts": facts,
            "certificate": certificate,
            "display_code": display_code(certificate.code),
            "can_revoke": certificate.revoked_at is None
            and has_perm(request.user, "certification.revoke_certificate", certificate),
        },
    )  # no request: the body needs none of the context processors
    return render_page(
        request,
        title=_("Certificate verification"),
        content=mark_safe(body),  # noqa: S308 - template output
    )


def verify_json(request: HttpRequest, code: str) -> HttpResponse:
    """The same facts as JSON, for software."""
    if not ratelimit.allow(request, "verify"):
        return _too_many(request, as_json=True)
    _normalised, certificate = _lookup(request, code)
    if certificate is None:
        return JsonResponse({"error": _("No certificate has this code.")}, status=404)
    facts = selectors.public_facts(certificate, get_language() or "en")
    facts["status_label"] = str(Certificate.Status(facts["status"]).label)
    response = JsonResponse(facts, json_dumps_params={"ensure_ascii": False})
    response["Content-Language"] = get_language() or "en"
    return response


@login_required
def my_certificates(request: HttpRequest) -> HttpResponse:
    """The learner's certificates with their downloads (linked from My learning)."""
    page = Paginator(selectors.certificates_of(user=request.user), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "certification/my_certificates.html", {"page_obj": page})


def _certificate_for(request: HttpRequest, certificate_id: uuid.UUID) -> Certificate:
    certificate = get_object_or_404(
        Certificate.objects.select_related("course", "program"), pk=certificate_id
    )
    if not has_perm(request.user, "certification.view_certificate", certificate):
        raise PermissionDenied
    return certificate


@login_required
def download_pdf(request: HttpRequest, certificate_id: uuid.UUID) -> FileResponse:
    """The signed PDF: for the holder and those who may see the certificate."""
    certificate = _certificate_for(request, certificate_id)
    if not certificate.pdf:
        raise Http404
    return FileResponse(
        certificate.pdf.open("rb"),
        as_attachment=True,
        filename=f"certificate-{certificate.code}.pdf",
        content_type="application/pdf",
    )


@login_required
def download_credential(request: HttpRequest, certificate_id: uuid.UUID) -> HttpResponse:
    """The signed Open Badges 3.0 credential (JSON-LD)."""
    certificate = _certificate_for(request, certificate_id)
    response = JsonResponse(certificate.credential, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/ld+json"
    response["Content-Disposition"] = f'attachment; filename="credential-{certificate.code}.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def revoke(request: HttpRequest, certificate_id: uuid.UUID) -> HttpResponse:
    """Revoke a certificate with a reason: DPS or a coordinator of the issuing institution."""
    certificate = get_object_or_404(Certificate, pk=certificate_id)
    if not has_perm(request.user, "certification.revoke_certificate", certificate):
        raise PermissionDenied
    if certificate.revoked_at is not None:
        # Revoked already (another tab, a form posted again): its reason stays as published.
        return render(
            request,
            "certification/revoke.html",
            {"certificate": certificate, "error": _("This certificate was already revoked.")},
            status=409,
        )
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.revoke_certificate(
            certificate=certificate, actor=request.user, reason=form.cleaned_data["reason"]
        )
        cache.delete(STATUS_LIST_CACHE_KEY)
        messages.success(request, _("The certificate was revoked."))
        return redirect("certification:verify", code=certificate.code)
    return render(request, "certification/revoke.html", {"certificate": certificate, "form": form})


def _run_for(request: HttpRequest, run_id: int) -> CourseRun:
    run = get_object_or_404(CourseRun.objects.select_related("course"), pk=run_id)
    if not has_perm(request.user, "certification.issue_run", run):
        raise PermissionDenied
    return run


@login_required
@require_http_methods(["GET", "POST"])
def bulk_issue(request: HttpRequest, run_id: int) -> HttpResponse:
    """Start issuing a whole run's certificates (coordinators of the host institution, DPS)."""
    run = _run_for(request, run_id)
    if request.method == "POST":
        job = services.start_bulk_issuance(run=run, actor=request.user)
        return redirect("certification:bulk_job", job_id=job.pk)
    jobs = BulkIssuance.objects.filter(run=run).order_by("-created_at")[:10]
    return render(
        request,
        "certification/bulk_issue.html",
        {"run": run, "jobs": jobs, "totals": selectors.issuance_totals(run)},
    )


@login_required
def bulk_job(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """A bulk issuance job with its live progress bar."""
    job = get_object_or_404(BulkIssuance.objects.select_related("run__course"), pk=job_id)
    _run_for(request, job.run_id)
    return render(request, "certification/bulk_job.html", {"job": job, "run": job.run})


@login_required
@require_POST
def bulk_resume(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Resume a failed job: only the certificates still missing are issued."""
    job = get_object_or_404(BulkIssuance.objects.select_related("run__course"), pk=job_id)
    _run_for(request, job.run_id)
    try:
        services.resume_bulk_issuance(job=job)
    except services.JobNotResumable as refused:
        job.refresh_from_db()
        return render(
            request,
            "certification/bulk_job.html",
            {"job": job, "run": job.run, "error": refused.message},
            status=409,
        )
    return redirect("certification:bulk_job", job_id=job.pk)


@login_required
@require_http_methods(["GET", "POST"])
def verify_many(request: HttpRequest) -> HttpResponse:
    """Verify a list of codes at once: validators and DPS."""
    if not has_perm(request.user, "certification.verify_many"):
        raise PermissionDenied
    form = BulkVerifyForm(request.POST or None, request.FILES or None)
    results: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        typed = form.cleaned_data["codes"]
        found = {
            certificate.code: certificate
            for certificate in Certificate.objects.filter(
                code__in=[code for _entry, code in typed]
            ).select_related("course", "program", "issuing_institution")
        }
        language = get_language() or "en"
        for entry, code in typed:
            certificate = found.get(code)
            results.append(
                {
                    "entry": entry,
                    "certificate": certificate,  # its dates written as the page's language does
                    "facts": selectors.public_facts(certificate, language) if certificate else None,
                }
            )
    return render(request, "certification/verify_many.html", {"form": form, "results": results})


def issuer_did(request: HttpRequest) -> HttpResponse:
    """The issuer's DID document (did:web): the public key that verifies our credentials."""
    response = JsonResponse(credentials.did_document())
    response["Content-Type"] = "application/did+json"
    response["Access-Control-Allow-Origin"] = "*"
    return response


STATUS_LIST_CACHE_KEY = "certification:status-list"


def status_list(request: HttpRequest) -> HttpResponse:
    """The Bitstring Status List credential of revocations (cached briefly, cleared on revoke)."""
    document = cache.get(STATUS_LIST_CACHE_KEY)
    if document is None:
        document = credentials.status_list_credential(
            selectors.revoked_indexes(), issuer_name=_("Police Training Network")
        )
        cache.set(STATUS_LIST_CACHE_KEY, document, timeout=300)
    response = JsonResponse(document)
    response["Content-Type"] = "application/vc+ld+json"
    response["Access-Control-Allow-Origin"] = "*"
    return response
