"""Forms of the network's pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from community.models import LibraryItem
from community.services import ATTACHMENT_TYPES, MAX_REASON

ACCEPT = ",".join(f".{extension}" for extension in sorted(ATTACHMENT_TYPES))
BAN_DAYS = (1, 3650)  # as the message of BanForm.days says


def _attachment_field() -> forms.FileField:
    """An optional file; the browser offers only the accepted types (the service decides)."""
    return forms.FileField(
        label=_("Attachment (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )


def _at_most(field: Any, count: int) -> str:
    return _("%(field)s: at most %(count)s characters.") % {"field": field, "count": count}


# Built when shown, in the language of the moment (as the form's other messages are).
_at_most_lazy = lazy(_at_most, str)


def _reason_field(label: Any, required: Any) -> forms.CharField:
    """A reason of at most MAX_REASON characters; the messages name the field and the rule."""
    return forms.CharField(
        label=label,
        max_length=MAX_REASON,
        error_messages={"required": required, "max_length": _at_most_lazy(_("Reason"), MAX_REASON)},
    )


class ThreadForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    text = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 6}), max_length=20000
    )
    attachment = _attachment_field()


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Your reply"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=20000,
        help_text=_("Mention a member with @ followed by their email address."),
    )
    attachment = _attachment_field()


class ReportForm(forms.Form):
    reason = _reason_field(
        _("Why should moderators look at this message?"), _("Say why you report this message.")
    )


class BanForm(forms.Form):
    reason = _reason_field(_("Reason"), _("Give the reason for the ban."))
    days = forms.IntegerField(
        label=_("Days (empty: until lifted)"),
        min_value=BAN_DAYS[0],
        max_value=BAN_DAYS[1],
        required=False,
        error_messages=dict.fromkeys(
            ("invalid", "min_value", "max_value"),
            _("Days: enter a whole number from 1 to 3,650, or leave it empty."),
        ),
    )


class ChatForm(forms.Form):
    body = forms.CharField(label=_("Message"), max_length=2000)


class LibraryItemForm(forms.ModelForm):
    class Meta:
        model = LibraryItem
        fields = [
            "kind",
            "title",
            "summary",
            "body",
            "language",
            "themes",
            "member_states",
            "file",
            "link",
        ]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 3}),
            "body": forms.Textarea(attrs={"rows": 12}),
            "themes": forms.CheckboxSelectMultiple,
            "member_states": forms.SelectMultiple(attrs={"size": 8}),
            # the browser offers only the accepted types (the service decides)
            "file": forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        }
