"""Forms of the courses app: parse and check what people submit; the rules live in services."""

from __future__ import annotations

from typing import Any

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


class AccessibleForm(forms.Form):
    """A form whose invalid fields say so to assistive technology (aria-invalid, and
    aria-describedby pointing at the error text the template prints with id <auto_id>_error)."""

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].auto_id}_error"


class PersonChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A choice of people shown by their full names."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name)


LANGUAGE_NAMES = {"es": "Español", "en": "English", "pt": "Português", "fr": "Français"}


def language_choices(codes: list[str] | None = None) -> list[tuple[str, str]]:
    """(code, name) of the platform's four languages, or of `codes` among them."""
    return [(code, name) for code, name in LANGUAGE_NAMES.items() if not codes or code in codes]


class ReplicatedRunForm(AccessibleForm):
    """A qualified trainer plans a replicated run at their own institution."""

    mode = forms.ChoiceField(
        label=_("delivery mode"),
        choices=[("onsite", _("On-site")), ("blended", _("Blended"))],
        initial="onsite",
    )
    starts_on = forms.DateField(
        label=_("starts on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(label=_("ends on"), widget=forms.DateInput(attrs={"type": "date"}))
    venue = forms.CharField(label=_("venue"), max_length=200)
    capacity = forms.IntegerField(label=_("seats"), min_value=1, max_value=100000)
    language = forms.ChoiceField(label=_("language of delivery"))
    supervisor = PersonChoiceField(
        label=_("supervising expert"),
        queryset=None,  # set in __init__
        help_text=_("An instructor of the course's train-the-trainers runs."),
    )

    def __init__(self, *args: Any, course: Any, trainer: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from courses.selectors import eligible_supervisors

        language = self.fields["language"]
        assert isinstance(language, forms.ChoiceField)
        language.choices = language_choices(course.language_list)
        language.initial = course.default_language
        supervisor = self.fields["supervisor"]
        assert isinstance(supervisor, forms.ModelChoiceField)
        supervisor.queryset = eligible_supervisors(course=course, trainer=trainer)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The run cannot end before it starts."))
        return data


class ObservationForm(AccessibleForm):
    """The supervising expert's feedback on a replicating trainer's teaching."""

    trainer = PersonChoiceField(label=_("trainer"), queryset=None)
    session = forms.ModelChoiceField(  # type: ignore[var-annotated]
        label=_("session observed"), queryset=None, required=False
    )
    rating = forms.IntegerField(label=_("rating (1-5)"), min_value=1, max_value=5, required=False)
    feedback = forms.CharField(
        label=_("feedback on teaching"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000
    )

    def __init__(self, *args: Any, run: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from courses.models import RunInstructor
        from lms.accounts.models import User

        trainer = self.fields["trainer"]
        session = self.fields["session"]
        assert isinstance(trainer, forms.ModelChoiceField)
        assert isinstance(session, forms.ModelChoiceField)
        trainer.queryset = User.objects.filter(
            run_assignments__run_id=run.pk, run_assignments__role=RunInstructor.Role.TRAINER
        ).order_by("full_name")
        session.queryset = run.sessions.order_by("starts_at")
