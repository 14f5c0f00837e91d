"""Forms of the courses app: parse and check what people submit; the rules live in services."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from django import forms
from django.core import validators
from django.utils import formats, timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _

from lms.validators import localize_limits
from lms.widgets import DateInput, DateTimeInput

# A video position above two days is a mistake, not a lecture.
MAX_VIDEO_SECONDS = 2 * 24 * 3600
# Browsers round the position and the length of a video differently: a position this far past
# the length is still the end of the video; further, the two numbers contradict each other.
VIDEO_END_TOLERANCE = 2
# A run's seats: far above any classroom, far below what the database column holds.
MAX_SEATS = 100_000
# Runs and sessions take place from this date to YEARS_AHEAD years from today: 0001-01-01 or
# 9999-12-31 is a slip of the keyboard, not a plan.
EARLIEST_DATE = date(2000, 1, 1)
YEARS_AHEAD = 10


class VideoPositionForm(forms.Form):
    """Where the learner is in a video (seconds) and, when the browser knows it, its length."""

    position = forms.FloatField(label=_("position"), min_value=0, max_value=MAX_VIDEO_SECONDS)
    duration = forms.FloatField(
        label=_("duration"), min_value=1, max_value=MAX_VIDEO_SECONDS, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        position, duration = data.get("position"), data.get("duration")
        if position is not None and duration and position > duration + VIDEO_END_TOLERANCE:
            self.add_error(
                "position",
                forms.ValidationError(
                    _("The position cannot be past the end of the video (%(duration)s s)."),
                    code="past_end",
                    params={"duration": int(duration)},
                ),
            )
        return data


def latest_date() -> date:
    """The last day a run or session may be planned for: YEARS_AHEAD years from today."""
    today = timezone.localdate()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def within_planning_range(value: date | datetime) -> None:
    """Refuses a date (or the day of a date and time, as typed) before EARLIEST_DATE or more
    than YEARS_AHEAD years ahead, saying which dates are allowed."""
    day = value.date() if isinstance(value, datetime) else value
    latest = latest_date()
    if not EARLIEST_DATE <= day <= latest:
        raise forms.ValidationError(
            _("Give a date from %(earliest)s to %(latest)s."),
            code="date_range",
            params={
                "earliest": formats.date_format(EARLIEST_DATE, "SHORT_DATE_FORMAT"),
                "latest": formats.date_format(latest, "SHORT_DATE_FORMAT"),
            },
        )


class ReaderDecimalField(forms.DecimalField):
    """A number typed with the reader's decimal separator ("1,5" in French, Spanish or
    Portuguese) or with a point (what a number field of the browser sends). The widget stays a
    number field with its min, max and step, its value written with a point as browsers need
    (localize=True would make it a text field, or write "1,5" that a number field drops)."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = formats.sanitize_separators(value.strip())
        return super().to_python(value)


class AccessibleForm(forms.Form):
    """A form whose invalid fields say so to assistive technology (aria-invalid, and
    aria-describedby pointing at the error text the template prints with id <auto_id>_error)."""

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                auto_id = self[name].auto_id
                help_id = f" {auto_id}_helptext" if self.fields[name].help_text else ""
                attrs["aria-describedby"] = f"{auto_id}_error{help_id}"


class PersonChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A choice of people shown by their full names."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name)


class PeopleChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    """Several people, shown by their full names, as checkboxes."""

    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name)


LANGUAGE_NAMES = {"es": "Español", "en": "English", "pt": "Português", "fr": "Français"}


def language_choices(codes: list[str] | None = None) -> list[tuple[str, str]]:
    """(code, name) of the platform's four languages, or of `codes` among them."""
    return [(code, name) for code, name in LANGUAGE_NAMES.items() if not codes or code in codes]


class RunDatesForm(AccessibleForm):
    """A run's form: it cannot end before it starts."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The run cannot end before it starts."))
        return data


class ReplicatedRunForm(RunDatesForm):
    """A qualified trainer plans a replicated run at their own institution."""

    mode = forms.ChoiceField(
        label=_("delivery mode"),
        choices=[("onsite", _("On-site")), ("blended", _("Blended"))],
        initial="onsite",
    )
    starts_on = forms.DateField(
        label=_("starts on"), widget=DateInput(), validators=[within_planning_range]
    )
    ends_on = forms.DateField(
        label=_("ends on"), widget=DateInput(), validators=[within_planning_range]
    )
    venue = forms.CharField(label=_("venue"), max_length=200)
    capacity = forms.IntegerField(label=_("seats"), min_value=1, max_value=MAX_SEATS)
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


# Authoring ------------------------------------------------------------------------------------

LANGUAGE_LEGENDS = {
    "es": _("Spanish version"),
    "en": _("English version"),
    "pt": _("Portuguese version"),
    "fr": _("French version"),
}


class TranslatedForm(AccessibleForm):
    """A form with a fieldset per language: for each (name, label, long) in `translated`, a
    field `<name>_<language>` for es, en, pt and fr, stored as {language: text}."""

    translated: tuple[tuple[str, Any, bool], ...] = ()

    def __init__(self, *args: Any, values: dict[str, dict[str, Any]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        values = values or {}
        for name, label, long in self.translated:
            for language in LANGUAGE_NAMES:
                key = f"{name}_{language}"
                self.fields[key] = forms.CharField(
                    label=label,
                    required=False,
                    max_length=100_000 if long else 300,
                    widget=forms.Textarea(attrs={"rows": 6 if long else 2, "lang": language})
                    if long
                    else forms.TextInput(attrs={"lang": language}),
                )
                value = (values.get(name) or {}).get(language, "")
                self.initial.setdefault(key, "\n".join(value) if isinstance(value, list) else value)

    def common_fields(self) -> list[Any]:
        names = {f"{n}_{lang}" for n, _l, _long in self.translated for lang in LANGUAGE_NAMES}
        return [self[name] for name in self.fields if name not in names]

    def language_groups(self) -> list[tuple[str, Any, list[Any]]]:
        """(language, legend, bound fields) for one fieldset per language."""
        return [
            (language, LANGUAGE_LEGENDS[language],
             [self[f"{name}_{language}"] for name, _label, _long in self.translated])
            for language in LANGUAGE_NAMES
        ]  # fmt: skip

    def translations(self, name: str) -> dict[str, str]:
        """The cleaned {language: text} of a translated field, empty languages left out."""
        return {
            language: self.cleaned_data[f"{name}_{language}"].strip()
            for language in LANGUAGE_NAMES
            if self.cleaned_data.get(f"{name}_{language}", "").strip()
        }

    def require_some(self, name: str, language: str | None = None) -> None:
        """An error unless `name` has text in `language` (or in some language); none when a
        language's text was already refused (too long, say): that error says what to do."""
        if any(f"{name}_{other}" in self.errors for other in LANGUAGE_NAMES):
            return
        if language:
            if not self.cleaned_data.get(f"{name}_{language}", "").strip():
                self.add_error(
                    f"{name}_{language}", _("Write it at least in the course's default language.")
                )
        elif not self.translations(name):
            self.add_error(
                f"{name}_{next(iter(LANGUAGE_NAMES))}", _("Write it in one language at least.")
            )


class CourseForm(TranslatedForm):
    """A course's own fields and its language versions of title, description and outcomes."""

    translated = (
        ("title", _("title"), False),
        ("description", _("description"), True),
        ("outcomes", _("learning outcomes (one per line)"), True),
    )
    code = forms.SlugField(label=_("code"), max_length=40)
    credit_hours = localize_limits(
        ReaderDecimalField(
            label=_("credit hours"), min_value=0, max_value=10000, max_digits=6, decimal_places=1
        )
    )
    default_language = forms.ChoiceField(label=_("default language"), choices=language_choices)
    languages = forms.MultipleChoiceField(
        label=_("languages"), choices=language_choices, widget=forms.CheckboxSelectMultiple
    )
    owner_institution = forms.ModelChoiceField(label=_("owner institution"), queryset=None)  # type: ignore[var-annotated]
    is_published = forms.BooleanField(label=_("published in the catalogue"), required=False)

    def __init__(self, *args: Any, institutions: Any, editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        owner = self.fields["owner_institution"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = institutions
        if editing:
            self.fields["code"].disabled = True

    def clean_languages(self) -> list[str]:
        """Each language once, in the order given."""
        return list(dict.fromkeys(self.cleaned_data.get("languages") or []))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        default = data.get("default_language")
        if default:
            self.require_some("title", default)
            if default not in data.get("languages", []):
                self.add_error("languages", _("Include the default language."))
        return data

    def course_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "credit_hours": data["credit_hours"],
            "default_language": data["default_language"],
            "languages": " ".join(data["languages"]),
            "title": self.translations("title"),
            "description": self.translations("description"),
            "learning_outcomes": {
                language: [line.strip() for line in text.splitlines() if line.strip()]
                for language, text in self.translations("outcomes").items()
            },
            "owner_institution": data["owner_institution"],
            "is_published": data["is_published"],
        }


class ModuleForm(TranslatedForm):
    translated = (("title", _("title"), False),)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.require_some("title")
        return data


def has_content(html: str) -> bool:
    """Whether sanitised HTML shows something: text, or an image with its address."""
    text = re.sub(r"\s|&nbsp;", "", strip_tags(html))
    return bool(text) or re.search(r'<img\b[^>]*\ssrc="[^"]+"', html) is not None


VIDEO_TYPES = ["mp4", "webm", "ogv"]
DOCUMENT_TYPES = ["pdf", "docx", "odt", "xlsx", "ods", "pptx", "odp", "txt", "zip"]


class LessonForm(TranslatedForm):
    """A lesson of any kind the course app delivers itself (quizzes come from assessments)."""

    translated = (
        ("title", _("title"), False),
        ("body", _("text (sanitised HTML)"), True),
        ("transcript", _("transcript"), True),
    )
    kind = forms.ChoiceField(
        label=_("kind"),
        choices=[("text", _("Text")), ("video", _("Video")), ("document", _("Document")),
                 ("xapi", _("External xAPI content"))],
    )  # fmt: skip
    is_required = forms.BooleanField(
        label=_("required for completion"), required=False, initial=True
    )
    estimated_minutes = forms.IntegerField(
        label=_("estimated minutes"), min_value=1, max_value=10000, initial=10
    )
    video_file = forms.FileField(
        label=_("video file"), required=False,
        validators=[validators.FileExtensionValidator(VIDEO_TYPES)],
        help_text=_("MP4, WebM or Ogg."),
    )  # fmt: skip
    video_url = forms.URLField(label=_("video link"), required=False, assume_scheme="https")
    captions = forms.FileField(
        label=_("captions (WebVTT)"), required=False,
        validators=[validators.FileExtensionValidator(["vtt"])],
    )  # fmt: skip
    document = forms.FileField(
        label=_("document"), required=False,
        validators=[validators.FileExtensionValidator(DOCUMENT_TYPES)],
    )  # fmt: skip
    launch_url = forms.CharField(
        label=_("launch URL of xAPI content"), required=False, max_length=500,
        help_text=_("The address of the activity's start page (https://… or /media/…)."),
    )  # fmt: skip
    activity_id = forms.CharField(label=_("xAPI activity id"), required=False, max_length=500)

    def __init__(self, *args: Any, lesson: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lesson = lesson

    def clean_captions(self) -> Any:
        """A WebVTT file starts with "WEBVTT" (after an optional byte order mark): anything
        else would give the video no captions, without a word."""
        upload = self.cleaned_data.get("captions")
        if upload:
            head = upload.read(16)
            upload.seek(0)
            if not head.removeprefix(b"\xef\xbb\xbf").startswith(b"WEBVTT"):
                raise forms.ValidationError(
                    _("This is not a WebVTT file: its first line must be WEBVTT.")
                )
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.require_some("title")
        kind = data.get("kind")
        has = {
            name: bool(data.get(name))
            or bool(self.lesson is not None and getattr(self.lesson, name))
            for name in ("video_file", "video_url", "document")
        }
        if kind == "video" and not (has["video_file"] or has["video_url"]):
            self.add_error("video_file", _("Upload the video or give its link."))
        if kind == "document" and not has["document"]:
            self.add_error("document", _("Upload the document."))
        if kind == "xapi":
            url = data.get("launch_url", "")
            if not url:
                self.add_error("launch_url", _("Give the launch URL of the activity."))
            elif url.startswith("//") or not url.startswith(("https://", "http://", "/")):
                # "//host/…" would leave the site while looking like a local path.
                self.add_error("launch_url", _("Give an address starting with https:// or /."))
        if kind == "text":
            self.require_some("body")
            self._require_text_left_after_sanitising()
        return data

    def _require_text_left_after_sanitising(self) -> None:
        """A text lesson's body is sanitised when saved (courses.content.clean_html): a text
        of which nothing is left then (only a script, say) is refused, naming its language's
        field, rather than saved empty."""
        from courses.content import clean_html

        for language in LANGUAGE_NAMES:
            name = f"body_{language}"
            typed = self.cleaned_data.get(name, "").strip()
            if typed and name not in self.errors and not has_content(clean_html(typed)):
                self.add_error(
                    name,
                    _(
                        "Nothing is left of this text once scripts and unsafe HTML are "
                        "removed: write the lesson's text."
                    ),
                )

    def lesson_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields: dict[str, Any] = {
            "kind": data["kind"],
            "is_required": data["is_required"],
            "estimated_minutes": data["estimated_minutes"],
            "title": self.translations("title"),
            "body": self.translations("body"),
            "transcript": self.translations("transcript"),
            "video_url": data["video_url"],
            "launch_url": data["launch_url"],
            "activity_id": data["activity_id"],
        }
        for name in ("video_file", "captions", "document"):
            if data.get(name):
                fields[name] = data[name]
        return fields


class RunForm(RunDatesForm):
    """A course run of the current version, with its instructors."""

    code = forms.SlugField(label=_("code"), max_length=60)
    mode = forms.ChoiceField(
        label=_("delivery mode"),
        choices=[("onsite", _("On-site")), ("virtual", _("Virtual self-paced")), ("blended", _("Blended"))],
    )  # fmt: skip
    language = forms.ChoiceField(label=_("language of delivery"), choices=language_choices)
    host_institution = forms.ModelChoiceField(label=_("host institution"), queryset=None)  # type: ignore[var-annotated]
    venue = forms.CharField(label=_("venue"), max_length=200, required=False)
    starts_on = forms.DateField(
        label=_("starts on"), required=False, widget=DateInput(),
        validators=[within_planning_range],
    )  # fmt: skip
    ends_on = forms.DateField(
        label=_("ends on"), required=False, widget=DateInput(),
        validators=[within_planning_range],
    )  # fmt: skip
    capacity = forms.IntegerField(
        label=_("seats"),
        min_value=1,
        max_value=MAX_SEATS,
        required=False,
        help_text=_("Empty: no limit."),
    )
    requires_approval = forms.BooleanField(label=_("enrolment needs approval"), required=False)
    self_enrolment = forms.BooleanField(
        label=_("officers may enrol themselves"), required=False, initial=True
    )
    instructors = PeopleChoiceField(label=_("instructors"), queryset=None, required=False)

    def __init__(self, *args: Any, institutions: Any, instructors: Any, course: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        host = self.fields["host_institution"]
        assert isinstance(host, forms.ModelChoiceField)
        host.queryset = institutions
        people = self.fields["instructors"]
        assert isinstance(people, forms.ModelMultipleChoiceField)
        people.queryset = instructors
        language = self.fields["language"]
        assert isinstance(language, forms.ChoiceField)
        language.choices = language_choices(course.language_list)
        language.initial = course.default_language


class SessionForm(AccessibleForm):
    title = forms.CharField(label=_("title"), max_length=200)
    starts_at = forms.DateTimeField(
        label=_("starts at"), widget=DateTimeInput(), validators=[within_planning_range]
    )
    ends_at = forms.DateTimeField(
        label=_("ends at"), widget=DateTimeInput(), validators=[within_planning_range]
    )
    room = forms.CharField(label=_("room"), max_length=100, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # read in the zone of the person typing them (lms.accounts.zones): say which
        zone = timezone.get_current_timezone_name().replace("_", " ")
        for name in ("starts_at", "ends_at"):
            self.fields[name].help_text = _("Time in %(zone)s.") % {"zone": zone}


class InstructorForm(AccessibleForm):
    """Someone who will teach the run, chosen among the instructors one may assign."""

    user = PersonChoiceField(label=_("instructor"), queryset=None)
    role = forms.ChoiceField(
        label=_("role"), choices=[("lead", _("Lead instructor")), ("assistant", _("Assistant"))]
    )

    def __init__(self, *args: Any, instructors: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "instructor")
        super().__init__(*args, **kwargs)
        user = self.fields["user"]
        assert isinstance(user, forms.ModelChoiceField)
        user.queryset = instructors
