"""The lesson player's page body, built in Python rather than by the template engine.

The player is the busiest page after the catalogue and its outline loop (a link per lesson) was
most of its rendering time. Everything a learner supplies or an author wrote is escaped here with
django.utils.html (lesson bodies are sanitised with nh3 instead, as before); the markup is the
same as the template's was: breadcrumb, progress bar (role="progressbar" with its values and
label), the lesson by kind, the previous/next navigation and the outline with aria-current on
the current lesson and a spoken "Completed" after each lesson done.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils.html import escape, format_html, linebreaks
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from courses.content import clean_html, lesson_url
from courses.models import Enrollment, Lesson
from courses.selectors import OutlineItem, PlayerEnrollment
from courses.templatetags.courses_tags import clock
from lms.chrome import csrf_token
from lms.i18n import pick

COMPLETED = "completed"


@lru_cache(maxsize=128)
def _clean(html: str) -> str:
    """clean_html of a lesson body, remembered: the same text is sanitised once per process."""
    return clean_html(html)


def _text(values: Any, language: str) -> str:
    """The escaped text of a {language: text} value in the reader's language (i18n_text)."""
    if isinstance(values, dict):
        return escape(str(pick(values, default=language)))
    return "" if values is None else escape(str(values))


def page_title(lesson: Lesson, language: str) -> str:
    """The lesson's title in the reader's language (unescaped: the template escapes it)."""
    return str(pick(lesson.title, default=language)) if isinstance(lesson.title, dict) else ""


def _file_url(field: Any) -> str:
    return field.url if field else ""


def _lesson_body(request: Any, state: PlayerEnrollment, lesson: Lesson, status: str,
                 position: int) -> str:  # fmt: skip
    language = state.language
    kind = lesson.kind
    if kind == Lesson.Kind.TEXT:
        body = _clean(str(pick(lesson.body, default=language)))
        return f'<div class="lesson-body">{body}</div>\n'
    if kind == Lesson.Kind.VIDEO:
        parts = []
        source = _file_url(lesson.video_file) or lesson.video_url
        if lesson.video_file or lesson.video_url:
            captions = ""
            if lesson.captions:
                captions = format_html(
                    '<track kind="captions" src="{}" srclang="{}" label="{}" default>',
                    lesson.captions.url, language, _("Captions"),
                )  # fmt: skip
            position_url = reverse("courses:video_position", args=[state.registration, lesson.pk])
            parts.append(
                format_html(
                    '<video controls preload="none" width="640" style="max-width:100%" '
                    'data-position-url="{}" data-csrf="{}" data-start="{}" src="{}">{}</video>\n',
                    position_url,
                    csrf_token(request),
                    position,
                    source,
                    captions,
                )  # fmt: skip
            )
            if position and status != COMPLETED:
                parts.append(
                    format_html(
                        "<p>{}</p>",
                        _("You stopped at %(time)s; the video resumes there.")
                        % {"time": clock(position)},
                    )
                )
            parts.append(format_html('<p><a href="{}">{}</a></p>', source, _("Open the video")))
        transcript = pick(lesson.transcript, default=language)
        if transcript:
            parts.append(
                format_html(
                    "<details open><summary>{}</summary><div>{}</div></details>",
                    _("Transcript"),
                    mark_safe(linebreaks(str(transcript), autoescape=True)),  # noqa: S308
                )  # fmt: skip
            )
        return "\n".join(parts) + "\n"
    if kind == Lesson.Kind.DOCUMENT:
        if not lesson.document:
            return ""
        return format_html(
            '<p><a class="button" href="{}" download>{}</a></p>\n',
            lesson.document.url, _("Download the document"),
        )  # fmt: skip
    if kind == Lesson.Kind.XAPI:
        return format_html(
            '<p>{}</p><p><a class="button primary" href="{}">{}</a></p>\n',
            _("This activity opens in a new page and reports your progress here."),
            reverse("courses:launch", args=[state.registration, lesson.pk]),
            _("Start the activity"),
        )
    if kind == Lesson.Kind.ASSESSMENT:
        # The assessments app names the quiz page; it needs the enrolment's identity only.
        enrollment = Enrollment(
            pk=state.pk, registration=state.registration, status=state.status,
            version_id=state.version_id,
        )  # fmt: skip
        action_url = lesson_url(enrollment, lesson)
        html = format_html(
            "<p>{}</p>",
            _(
                "This lesson is an assessment: a quiz, an exam, an assignment or a practical evaluation."
            ),
        )
        if action_url:
            html += format_html(
                '<p><a class="button primary" href="{}">{}</a></p>',
                action_url,
                _("Open the assessment"),
            )
        return html + "\n"
    return ""


@lru_cache(maxsize=32)
def _fixed(language: str, script_prefix: str) -> dict[str, str]:
    """The parts of the page that depend only on the reader's language (and where the site is
    mounted), escaped once per process."""
    return {
        "breadcrumb": format_html(
            '<nav aria-label="{}"><a href="{}">{}</a> › ',
            _("Breadcrumb"),
            reverse("courses:my_learning"),
            _("My learning"),
        ),  # fmt: skip
        "progress_label": escape(_("Course progress")),
        "done_mark": format_html(' ✓<span class="visually-hidden">{}</span>', _("Completed")),
        "completed": format_html('<span class="badge">{}</span>', _("Completed")),
        "watched": escape(_("I have watched the video")),
        "lessons": escape(_("Lessons")),
        "previous": escape(_("Previous")),
        "next": escape(_("Next")),
        "outline": format_html("<details><summary>{}</summary><ol>", _("Course outline")),
        "optional_mark": format_html(' <span class="badge">{}</span>', _("Optional")),
        "optional_note": format_html(
            "<p>{}</p>\n", _("This lesson is optional: completing the course does not need it.")
        ),
    }


def content(
    request: Any, state: PlayerEnrollment, lesson: Lesson, outline: list[OutlineItem]
) -> SafeString:
    """The player's main content for one learner and lesson (the page's content block)."""
    language = state.language
    registration = state.registration
    fixed = _fixed(get_language() or "", get_script_prefix())
    # The lesson URLs differ only in the lesson id: one reverse() for all of them.
    sample = reverse("courses:lesson", args=[registration, 0])
    prefix = escape(sample[: -len("0/")])
    index = next(i for i, item in enumerate(outline) if item.pk == lesson.pk)
    status, position = state.progress.get(lesson.pk, ("", 0))
    pct = int(state.progress_pct)
    done_mark, optional_mark = fixed["done_mark"], fixed["optional_mark"]
    progress = state.progress
    items = []
    for item in outline:
        title = _text(item.title, language)
        if item.pk == lesson.pk:
            link = f'<strong aria-current="page">{title}</strong>'
        else:
            link = f'<a href="{prefix}{item.pk}/">{title}</a>'
        done = progress.get(item.pk)
        items.append(
            f"<li>{link}{'' if item.is_required else optional_mark}"
            f"{done_mark if done and done[0] == COMPLETED else ''}</li>"
        )
    previous = outline[index - 1] if index > 0 else None
    following = outline[index + 1] if index + 1 < len(outline) else None
    if status == COMPLETED:
        action = fixed["completed"]
    elif lesson.kind == Lesson.Kind.VIDEO:
        action = format_html(
            '<form method="post" action="{}">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit" class="primary">{}</button></form>',
            reverse("courses:complete", args=[registration, lesson.pk]),
            csrf_token(request),
            mark_safe(fixed["watched"]),  # noqa: S308 - escaped in _fixed
        )
    else:
        action = ""
    done_text = escape(_("%(pct)s%% of the course done") % {"pct": pct})
    where = escape(
        _("Lesson %(position)s of %(count)s") % {"position": index + 1, "count": len(outline)}
    )
    html = [
        fixed["breadcrumb"],
        _text(state.course_title, language),
        "</nav>\n",
        '<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        f'aria-valuenow="{pct}" aria-label="{fixed["progress_label"]}">'
        f'<span style="width:{pct}%"></span></div>\n',
        f"<p>{done_text} · {where}</p>\n",
        "<article>\n",
        f"<h1>{_text(lesson.title, language)}</h1>\n",
        "" if lesson.is_required else fixed["optional_note"],
        _lesson_body(request, state, lesson, status, position),
        "</article>\n",
        f"<p>{action}</p>\n",
        f'<nav class="pagination" aria-label="{fixed["lessons"]}">\n',
        f'<a rel="prev" href="{prefix}{previous.pk}/">← {fixed["previous"]}</a>'
        if previous
        else "",
        "\n",
        f'<a rel="next" href="{prefix}{following.pk}/">{fixed["next"]} →</a>' if following else "",
        "\n</nav>\n",
        fixed["outline"],
        *items,
        "</ol></details>\n",
    ]
    return mark_safe("".join(html))  # noqa: S308 - every part escaped


# The static links depend only on the collected files' manifest and the settings, which change
# with a deploy, that is with new processes (as lms.chrome's head): built once per process
# (static() looked up the manifest on every view).


@lru_cache(maxsize=1)
def _player_script(static_url: str) -> SafeString:
    return format_html('<script src="{}" defer></script>', static("courses/player.js"))


@lru_cache(maxsize=1)
def _player_head(static_url: str) -> SafeString:
    return format_html('<link rel="stylesheet" href="{}">', static("courses/courses.css"))


def scripts(lesson: Lesson) -> SafeString:
    """The player script for videos."""
    if lesson.kind != Lesson.Kind.VIDEO:
        return mark_safe("")  # noqa: S308 - constant
    return _player_script(settings.STATIC_URL)


def head() -> SafeString:
    """The player's stylesheet."""
    return _player_head(settings.STATIC_URL)
