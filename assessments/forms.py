"""Forms of the assessments app: what an instructor posts, checked before a service runs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from assessments import selectors
from assessments.models import TimeAllowance
from courses.models import CourseRun


class TimeAllowanceForm(forms.Form):
    """One learner's extra time, as a row of the run's extra-time page posts it: a learner of
    that page (an enrolment of another run, or none, is an invalid choice) and one of the extra
    times offered, empty for none."""

    enrollment = forms.ModelChoiceField(  # type: ignore[var-annotated]
        label=_("Learner"), queryset=None
    )
    extra_pct = forms.TypedChoiceField(
        label=_("Extra time"),
        choices=[("", _("No extra time")), *TimeAllowance.ExtraTime.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )

    def __init__(self, *args: Any, run: CourseRun, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["enrollment"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = selectors.run_time_allowances(run=run)
