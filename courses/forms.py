"""Forms of the courses app: parse and check what people submit; the rules live in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

# A video position above two days is a mistake, not a lecture.
MAX_VIDEO_SECONDS = 2 * 24 * 3600


class VideoPositionForm(forms.Form):
    """Where the learner is in a video (seconds) and, when the browser knows it, its length."""

    position = forms.FloatField(label=_("position"), min_value=0, max_value=MAX_VIDEO_SECONDS)
    duration = forms.FloatField(
        label=_("duration"), min_value=1, max_value=MAX_VIDEO_SECONDS, required=False
    )
