"""Forms of the accounts app: sign-in with lock-out, account, password reset and bulk import."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.sites.shortcuts import get_current_site
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from lms.accounts import zones
from lms.accounts.models import LANGUAGE_CHOICES, Institution, User


class SignInForm(auth_forms.AuthenticationForm):
    """Email and password; says clearly when the address is locked and until when, the same
    for an address that has no account (lms.accounts.backends)."""

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": _("The email address or the password is not right."),
        "locked": _(
            "This account is locked after too many failed sign-ins. "
            "Try again after %(time)s (UTC), or reset your password."
        ),
        "not_activated": _(
            "This account is not activated yet: use the link in your invitation email, "
            "or ask for a new one with “Forgot your password?”."
        ),
    }

    def __init__(self, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Email address")
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "type": "email"})

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            locked_until = getattr(self.request, "lms_locked_until", None)
            if locked_until is not None:
                when = formats.date_format(
                    timezone.localtime(locked_until, datetime.UTC), "DATETIME_FORMAT"
                )
                raise forms.ValidationError(
                    self.error_messages["locked"], code="locked", params={"time": when}
                ) from None
            # Only after the right password: for any other, an invited address must look like
            # every address (the sign-in page tells everyone how to activate an invitation).
            if getattr(self.request, "lms_not_activated", False):
                raise forms.ValidationError(
                    self.error_messages["not_activated"], code="not_activated"
                ) from None
            raise


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Finds people by email whatever the case; invited people get a new invitation instead.
    The email is queued whatever the address (lms.accounts.services.queue_password_reset)."""

    def save(  # type: ignore[override]
        self,
        domain_override: str | None = None,
        *args: Any,
        use_https: bool = False,
        request: Any = None,
        **kwargs: Any,
    ) -> None:
        from lms.accounts.services import queue_password_reset

        domain = domain_override or get_current_site(request).domain
        queue_password_reset(
            email=self.cleaned_data["email"],
            domain=domain,
            protocol="https" if use_https else "http",
        )


class AccountForm(forms.ModelForm):
    """The name, language and time zone a person may change themselves."""

    preferred_language = forms.ChoiceField(
        label=_("Preferred language"), choices=LANGUAGE_CHOICES, required=True
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        help_text=_("The zone the site shows times in, and reads the times you type in."),
    )

    class Meta:
        model = User
        fields = ["full_name", "preferred_language", "time_zone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        state_zone = zones.member_state_zone(self.instance.member_state_id)
        field.choices = [
            ("", _("My member state’s (%(zone)s)") % {"zone": state_zone.replace("_", " ")}),
            *zones.choices(),
        ]


class ActivationForm(auth_forms.SetPasswordForm):
    """Choose a password to activate an invited account."""


class OfficerImportForm(forms.Form):
    """A CSV or XLSX file of officers for one institution the coordinator coordinates."""

    institution = forms.ModelChoiceField(
        label=_("Institution or unit"), queryset=Institution.objects.none()
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV (UTF-8) or XLSX with the columns full_name, email, badge_number, unit, "
            "language on the first line."
        ),
    )

    def __init__(self, *args: Any, institutions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["institution"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = institutions

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx", ".txt")):
            raise forms.ValidationError(_("Upload a CSV or XLSX file."))
        return upload
