"""Forms of the network's pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from community.models import LibraryItem
from community.services import ATTACHMENT_TYPES


def _attachment_field() -> forms.FileField:
    """An optional file; the browser offers only the accepted types (the service decides)."""
    accept = ",".join(f".{extension}" for extension in sorted(ATTACHMENT_TYPES))
    return forms.FileField(
        label=_("Attachment (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": accept}),
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
    reason = forms.CharField(label=_("Why should moderators look at this message?"), max_length=500)


class BanForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)
    days = forms.IntegerField(
        label=_("Days (empty: until lifted)"), min_value=1, max_value=3650, required=False
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
        }
