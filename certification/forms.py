"""Forms of the certification app."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from certification.codes import is_well_formed, normalise_code

MAX_BULK_CODES = 500


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        max_length=40,
        help_text=_("The code printed under the QR code, for example 7K3M-Q9TX-2B8R."),
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not is_well_formed(code):
            raise forms.ValidationError(_("This is not a valid verification code."))
        return code


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for revocation"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown on the public verification page."),
    )


class BulkVerifyForm(forms.Form):
    codes_file = forms.FileField(
        label=_("File of codes"),
        required=False,
        help_text=_("A text or CSV file with one code per line."),
    )
    codes_text = forms.CharField(
        label=_("Or paste codes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # in the reader's language: formatted per form, not once when the module loads
        self.fields["codes_text"].help_text = _("One code per line, at most %(count)s.") % {
            "count": MAX_BULK_CODES
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        text = cleaned.get("codes_text") or ""
        upload = cleaned.get("codes_file")
        if upload is not None:
            if upload.size > 64 * 1024:
                raise forms.ValidationError({"codes_file": _("The file is too large.")})
            try:
                text += "\n" + upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(
                    {"codes_file": _("The file must be UTF-8 text.")}
                ) from None
        typed = [
            part.strip() for line in text.splitlines() for part in line.split(",") if part.strip()
        ]
        if not typed:
            raise forms.ValidationError({"codes_text": _("Give at least one code.")})
        if len(typed) > MAX_BULK_CODES:
            raise forms.ValidationError(
                {"codes_text": _("At most %(count)s codes at once.") % {"count": MAX_BULK_CODES}}
            )
        cleaned["codes"] = [(entry, normalise_code(entry)) for entry in typed]
        return cleaned
