"""Sign-in and sign-out, activation, password reset, the account page, notifications, the
language switcher and bulk onboarding of officers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from lms.accounts import principal, selectors, services
from lms.accounts.forms import (
    AccountForm,
    ActivationForm,
    OfficerImportForm,
    PasswordResetForm,
    SignInForm,
)
from lms.accounts.models import Notification, User
from lms.accounts.permissions import has_perm

ERRORS_SHOWN = 500


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    form_class = PasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:account")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, _("Your password has been changed."))
        return response


def activate(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The one-time invitation link: choose a password, become active, and be signed in."""
    try:
        user: User | None = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if (
        user is None
        or user.status == User.Status.SUSPENDED
        or not default_token_generator.check_token(user, token)
    ):
        return render(request, "accounts/activation_invalid.html", status=400)
    if user.preferred_language:
        # The invitation was written in the person's language; the page continues in it.
        translation.activate(user.preferred_language)
        request.LANGUAGE_CODE = user.preferred_language
    form = ActivationForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.activate_account(
            request=request, user=user, password=form.cleaned_data["new_password1"]
        )
        messages.success(request, _("Welcome! Your account is active."))
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/activate.html", {"form": form, "person": user})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; a signed-in person's preference is saved too."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if language in settings.LANGUAGE_CODES:
        if request.user.is_authenticated:
            User.objects.filter(pk=request.user.pk).update(preferred_language=language)
            principal.forget(request.user.pk)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax"
        )
    return response


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The person's account page: name, language and time zone; a link to change the
    password."""
    user = request.user
    assert isinstance(user, User)
    form = AccountForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        services.update_account(
            user=user,
            full_name=form.cleaned_data["full_name"],
            preferred_language=form.cleaned_data["preferred_language"],
            time_zone=form.cleaned_data["time_zone"],
        )
        translation.activate(user.preferred_language)
        messages.success(request, _("Your account has been saved."))
        response = redirect("accounts:account")
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            user.preferred_language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
        )
        return response
    return render(request, "accounts/account.html", _account_context(user, form))


def _account_context(user: User, form: AccountForm, **extra: Any) -> dict[str, Any]:
    return {"form": form, "api_key_issued_at": selectors.api_key_issued_at(user), **extra}


@login_required
@require_POST
@never_cache
def api_key(request: HttpRequest) -> HttpResponse:
    """Create, replace or revoke the person's key for the REST API (action=issue|revoke). A new
    key is shown once, on this answer (never stored in a message or cached)."""
    user = request.user
    assert isinstance(user, User)
    action = request.POST.get("action")
    if action == "revoke":
        if services.revoke_api_key(user=user):
            messages.success(
                request,
                _("Your API key is revoked: systems that used it can no longer act as you."),
            )
        return redirect(reverse("accounts:account") + "#api-key")
    if action == "issue":
        key = services.issue_api_key(user=user)
        return render(
            request, "accounts/account.html",
            _account_context(user, AccountForm(instance=user), new_api_key=key),
        )  # fmt: skip
    error = _("action: choose to create or to revoke the key.")
    context = _account_context(user, AccountForm(instance=user), api_key_error=error)
    return render(request, "accounts/account.html", context, status=400)


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The person's notifications, newest first, 20 a page."""
    user = request.user
    assert isinstance(user, User)
    page = Paginator(selectors.notifications_for(user), 20).get_page(request.GET.get("page"))
    return render(request, "accounts/notifications.html", {"page_obj": page})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and follow its link when asked to."""
    notification = get_object_or_404(Notification, pk=pk, user_id=request.user.pk)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    # a path of this site only ("//host/…" starts with "/" and is another site's address)
    if (
        request.POST.get("follow")
        and notification.url.startswith("/")
        and url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None)
    ):
        return redirect(notification.url)
    return redirect("accounts:notifications")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    """Mark every unread notification of the person read."""
    user = request.user
    assert isinstance(user, User)
    Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
    principal.forget(user.pk)
    return redirect("accounts:notifications")


@login_required
def import_officers(request: HttpRequest) -> HttpResponse:
    """Bulk onboarding: a coordinator uploads a CSV or XLSX of officers for their institution."""
    user = request.user
    assert isinstance(user, User)
    if not has_perm(user, "accounts.import_officers"):
        raise PermissionDenied("accounts.import_officers")
    institutions = selectors.importable_institutions(user)
    # Most coordinators import into their own institution: offer it first.
    initial = {"institution": user.institution_id} if user.institution_id else {}
    form = OfficerImportForm(
        request.POST or None, request.FILES or None, institutions=institutions, initial=initial
    )
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        institution = form.cleaned_data["institution"]
        if not has_perm(user, "accounts.import_officers", institution):
            raise PermissionDenied("accounts.import_officers")
        upload = form.cleaned_data["file"]
        try:
            rows = services.read_officer_file(upload, upload.name)
            result = services.import_officers(institution=institution, rows=rows, importer=user)
        except services.ImportFileError as exc:
            form.add_error("file", str(exc.message))
        else:
            context.update(
                result=result,
                institution=institution,
                errors_shown=result.errors[:ERRORS_SHOWN],
            )
            if result.ok:
                messages.success(
                    request,
                    _(
                        "%(created)s officers created and invited, %(updated)s updated, "
                        "%(unchanged)s unchanged."
                    )
                    % {
                        "created": result.created,
                        "updated": result.updated,
                        "unchanged": result.unchanged,
                    },
                )
                return redirect("accounts:import_officers")
            return render(request, "accounts/import_officers.html", context, status=400)
        return render(request, "accounts/import_officers.html", context, status=400)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/import_officers.html", context, status=status)
