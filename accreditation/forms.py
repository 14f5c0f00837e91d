"""Forms of the accreditation pages. The dossier's lists (syllabus, outcomes, instructors) are
typed as plain lines so that the pages need no JavaScript."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format, get_format
from django.utils.translation import gettext_lazy as _

from accreditation import services
from accreditation.models import AccreditationRequest
from accreditation.services import ConditionInput
from courses.models import CourseVersion
from lms.accounts.models import University, User
from lms.validators import localize_limits
from lms.widgets import DateInput

HOURS = re.compile(r"^(?P<title>.*?)\s*\|\s*(?P<hours>[0-9]+(?:[.,][0-9]+)?)\s*$")
# A session lasts no longer than the whole course may (DossierForm's contact hours).
MAX_HOURS = Decimal(10000)
# An approval starts between these and today plus this many years.
FIRST_VALID_FROM = date(2000, 1, 1)
VALID_FROM_YEARS_AHEAD = 2


class ReaderDecimalField(forms.DecimalField):
    """A number written with the reader's decimal separator ("10,5" in French, Spanish and
    Portuguese) or with the point that browsers send from number inputs. Thousands separators are
    not read ("1.000,5" is refused), so "1,000" is never taken for one thousand; the field's
    limits and decimal places apply as usual."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            separator = get_format("DECIMAL_SEPARATOR")
            if separator != "." and value.count(separator) == 1 and "." not in value:
                value = value.replace(separator, ".")
        return super().to_python(value)


def syllabus_to_text(syllabus: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for module in syllabus or []:
        lines.append(str(module.get("module", "")))
        for session in module.get("sessions", []):
            hours = session.get("hours")
            lines.append(f"- {session.get('title', '')}" + (f" | {hours}" if hours else ""))
    return "\n".join(lines)


def text_to_syllabus(text: str) -> list[dict[str, Any]]:
    """Modules on their own lines, their sessions below on lines starting with "-", each
    optionally ending with "| hours"."""
    modules: list[dict[str, Any]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("-"):
            if not modules:
                raise forms.ValidationError(_("Write a module title before its first session."))
            line = line.lstrip("- ").strip()
            match = HOURS.match(line)
            session = {"title": line, "hours": ""}
            if match:
                hours = match["hours"].replace(",", ".")
                if Decimal(hours) > MAX_HOURS:
                    raise forms.ValidationError(
                        _("“%(line)s”: a session lasts at most 10,000 hours.") % {"line": line}
                    )
                session = {"title": match["title"], "hours": hours}
            elif "|" in line:
                raise forms.ValidationError(
                    _(
                        "“%(line)s”: write the hours after “|” as a number, such as “| 4” or “| 1,5”."
                    )
                    % {"line": line}
                )
            modules[-1]["sessions"].append(session)
        else:
            modules.append({"module": line, "sessions": []})
    return modules


def instructors_to_text(instructors: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{person.get('name', '')}: {person.get('qualifications', '')}"
        for person in instructors or []
    )


def text_to_instructors(text: str) -> list[dict[str, str]]:
    people = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        name, sep, qualifications = raw.partition(":")
        if not sep or not name.strip() or not qualifications.strip():
            raise forms.ValidationError(
                _("“%(line)s”: write the name, “:”, then the qualifications.")
                % {"line": raw.strip()}
            )
        people.append({"name": name.strip(), "qualifications": qualifications.strip()})
    return people


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class DossierForm(forms.Form):
    """What the course owner tells the university about the course version."""

    syllabus = forms.CharField(
        label=_("Syllabus"),
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        help_text=_(
            "One module per line; below it, one session per line starting with “-”, "
            "optionally ending with “| hours”."
        ),
    )
    learning_outcomes = forms.CharField(
        label=_("Learning outcomes"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_("One outcome per line."),
    )
    framework = forms.ChoiceField(
        label=_("Qualifications framework"), choices=AccreditationRequest.Framework.choices
    )
    framework_name = forms.CharField(
        label=_("Name of the national framework"), max_length=120, required=False
    )
    level = forms.CharField(label=_("Level"), max_length=20, required=False)
    contact_hours = ReaderDecimalField(
        label=_("Contact hours"), min_value=Decimal(0), max_value=Decimal(10000), decimal_places=1
    )
    self_study_hours = ReaderDecimalField(
        label=_("Self-study hours"),
        min_value=Decimal(0),
        max_value=Decimal(10000),
        decimal_places=1,
    )
    delivery_mode = forms.ChoiceField(
        label=_("Delivery mode"), choices=AccreditationRequest.DeliveryMode.choices
    )
    assessment_methods = forms.CharField(
        label=_("Assessment methods"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    passing_rules = forms.CharField(
        label=_("Passing rules"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    instructors = forms.CharField(
        label=_("Instructors and their qualifications"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("One per line: “Name: qualifications”."),
    )

    @classmethod
    def initial_for(cls, request: AccreditationRequest) -> dict[str, Any]:
        return {
            "syllabus": syllabus_to_text(request.syllabus),
            "learning_outcomes": "\n".join(request.learning_outcomes or []),
            "framework": request.framework,
            "framework_name": request.framework_name,
            "level": request.level,
            "contact_hours": request.contact_hours,
            "self_study_hours": request.self_study_hours,
            "delivery_mode": request.delivery_mode,
            "assessment_methods": request.assessment_methods,
            "passing_rules": request.passing_rules,
            "instructors": instructors_to_text(request.instructors),
        }

    def clean_syllabus(self) -> list[dict[str, Any]]:
        return text_to_syllabus(self.cleaned_data["syllabus"])

    def clean_learning_outcomes(self) -> list[str]:
        return lines(self.cleaned_data["learning_outcomes"])

    def clean_instructors(self) -> list[dict[str, str]]:
        return text_to_instructors(self.cleaned_data["instructors"])


class CourseVersionChoiceField(forms.ModelChoiceField):
    """A course version named by its course's title in the reader's language, not its code."""

    def label_from_instance(self, obj: Any) -> str:
        return _("%(course)s, version %(number)s") % {"course": obj.course, "number": obj.number}


class UniversityChoiceField(forms.ModelChoiceField):
    """A university named in full: its acronym alone says little to a course owner."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class NewRequestForm(forms.Form):
    course_version = CourseVersionChoiceField(
        label=_("Course version"), queryset=CourseVersion.objects.none()
    )
    university = UniversityChoiceField(
        label=_("University"), queryset=University.objects.order_by("-is_coordinating", "name")
    )

    def __init__(self, *args: Any, versions: QuerySet[CourseVersion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["course_version"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - narrows the type
        field.queryset = versions

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        version, university = cleaned.get("course_version"), cleaned.get("university")
        if version is not None and university is not None:
            existing = services.open_request(
                course_version_id=version.pk, university_id=university.pk
            )
            if existing is not None:
                self.add_error(
                    "course_version",
                    _(
                        "This course version already has an open request to this university "
                        "(%(status)s): continue that one rather than starting another."
                    )
                    % {"status": existing.get_status_display()},
                )
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reasons"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000
    )


class AssignReviewerForm(forms.Form):
    reviewer = forms.ModelChoiceField(label=_("Reviewer"), queryset=User.objects.none())

    def __init__(self, *args: Any, reviewers: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reviewer"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - narrows the type
        field.queryset = reviewers


class AttachmentForm(forms.Form):
    """A document of the dossier; the browser offers only the accepted types, and the file's
    extension and first bytes are checked (services.attachment_error)."""

    file = forms.FileField(
        label=_("Attachment"),
        help_text=_(
            "PDF, Word (.doc, .docx), OpenDocument (.odt, .ods), Excel (.xlsx), text (.txt), "
            "PNG or JPEG; 20 MB at most."
        ),
        widget=forms.ClearableFileInput(
            attrs={"accept": ",".join(f".{extension}" for extension in services.ATTACHMENT_TYPES)}
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        error = services.attachment_error(upload)
        if error:
            raise forms.ValidationError(error)
        return upload


class ApproveForm(forms.Form):
    """The decision: credit value, ECTS divisor, validity period and optional conditions."""

    credit_hours = localize_limits(
        ReaderDecimalField(
            label=_("Credit hours"),
            min_value=Decimal("0.5"),
            max_value=Decimal(10000),
            decimal_places=1,
            help_text=_("Total workload recognised, in hours."),
        )
    )
    ects_hours_per_credit = forms.IntegerField(
        label=_("Workload hours per ECTS credit"),
        min_value=25,
        max_value=30,
        initial=25,
        help_text=_("Between 25 and 30."),
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput())
    validity_years = forms.IntegerField(
        label=_("Validity (years)"), min_value=1, max_value=10, initial=3
    )
    quality_assurance = forms.CharField(
        label=_("Quality assurance"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("How the university reviewed the course, stated on certificates."),
    )
    conditions = forms.CharField(
        label=_("Conditions"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Optional. One per line: “YYYY-MM-DD: condition”, the date it is due."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["valid_from"].initial = timezone.localdate

    def clean_valid_from(self) -> date:
        """From 2000 to two years ahead: a start in the year 9990 is a typing error (and one
        in 9999 would end past the calendar)."""
        valid_from: date = self.cleaned_data["valid_from"]
        last = services.add_years(timezone.localdate(), VALID_FROM_YEARS_AHEAD)
        if not FIRST_VALID_FROM <= valid_from <= last:
            raise forms.ValidationError(
                _("Choose a start between %(first)s and %(last)s.")
                % {
                    "first": date_format(FIRST_VALID_FROM, "DATE_FORMAT"),
                    "last": date_format(last, "DATE_FORMAT"),
                }
            )
        return valid_from

    def clean_conditions(self) -> list[ConditionInput]:
        conditions = []
        for number, raw in enumerate(self.cleaned_data["conditions"].splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            due, _sep, text = line.partition(":")
            try:
                due_on = date.fromisoformat(due.strip())
            except ValueError:
                raise forms.ValidationError(
                    _("Start each condition with its due date, YYYY-MM-DD, then “:”.")
                ) from None
            if not text.strip():
                raise forms.ValidationError(_("Describe each condition after its date."))
            conditions.append(ConditionInput(text=text.strip(), due_on=due_on, line=number))
        return conditions
