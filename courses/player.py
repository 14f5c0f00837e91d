"""The lesson player's page body, built in Python rather than by the template engine.

The player is the busiest page after the catalogue and its outline loop (a link per lesson) was
most of its rendering time. Everything a learner supplies or an author wrote is escaped here with
html.escape, as django.utils.html.escape does (lesson bodies are sanitised with nh3 instead, as
before), and the fixed text is translated and escaped once per language; the markup is the
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
from django.utils.html import format_html, linebreaks
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from courses.content import clean_html, lesson_url
from courses.content import escape_text as _escape
from courses.models import Lesson
from courses.selectors import OutlineItem, PlayerEnrollment
from courses.templatetags.courses_tags import clock
from lms.chrome import csrf_token
from lms.i18n import pick

COMPLETED = "completed"


@lru_cache(maxsize=128)
def _clean(html: str) -> str:
    """clean_html of a lesson body, remembered: the same text is sanitised once per process."""
    return clean_html(html)


def _text(values: Any, active: str, language: str) -> str:
    """The escaped text of a {language: text} value in the reader's language `active`, else the
    course's `language` (i18n_text)."""
    if isinstance(values, dict):
        return _escape(str(pick(values, active, language)))
    return "" if values is None else _escape(str(values))


# A sentinel registration and lesson id, reversed once per route: the player's links differ
# only in these two values, and reverse() walked the URLconf for each of them on every page.
_REGISTRATION = "00000000-0000-4000-8000-000000000000"
_LESSON = 987654321


@lru_cache(maxsize=16)
def _route_template(name: str, script_prefix: str) -> str:
    return reverse(name, args=[_REGISTRATION, _LESSON])


def _route(name: str, registration: Any, lesson_id: int) -> str:
    """reverse(name, args=[registration, lesson_id]) for the player's lesson routes."""
    # The lesson id first: a registration's digits could contain the lesson sentinel's.
    return (
        _route_template(name, get_script_prefix())
        .replace(str(_LESSON), str(int(lesson_id)))
        .replace(_REGISTRATION, str(registration))
    )


def page_title(lesson: Lesson, language: str) -> str:
    """The lesson's title in the reader's language (unescaped: the template escapes it)."""
    return str(pick(lesson.title, default=language)) if isinstance(lesson.title, dict) else ""


def _file_url(field: Any) -> str:
    return field.url if field else ""


def _lesson_body(request: Any, state: PlayerEnrollment, lesson: Lesson, status: str,
                 position: int, active: str, fixed: dict[str, str]) -> str:  # fmt: skip
    language = state.language
    kind = lesson.kind
    if kind == Lesson.Kind.TEXT:
        body = _clean(str(pick(lesson.body, active, language)))
        return f'<div class="lesson-body">{body}</div>\n'
    if kind == Lesson.Kind.VIDEO:
        parts = []
        source = _escape(_file_url(lesson.video_file) or lesson.video_url or "")
        if lesson.video_file or lesson.video_url:
            captions = ""
            if lesson.captions:
                captions = (
                    f'<track kind="captions" src="{_escape(lesson.captions.url)}" '
                    f'srclang="{_escape(language)}" label="{fixed["captions"]}" default>'
                )
            position_url = _escape(_route("courses:video_position", state.registration, lesson.pk))
            parts.append(
                '<video controls preload="none" width="640" style="max-width:100%" '
                f'data-position-url="{position_url}" data-csrf="{_escape(csrf_token(request))}" '
                f'data-start="{int(position)}" src="{source}">{captions}</video>\n'
            )
            if position and status != COMPLETED:
                stopped = fixed["stopped"] % {"time": _escape(clock(position))}
                parts.append(f"<p>{stopped}</p>")
            parts.append(f'<p><a href="{source}">{fixed["open_video"]}</a></p>')
        else:
            parts.append(f'<p class="notice">{fixed["no_video"]}</p>')
        transcript = pick(lesson.transcript, active, language)
        if transcript:
            parts.append(
                f"<details open><summary>{fixed['transcript']}</summary>"
                f"<div>{linebreaks(str(transcript), autoescape=True)}</div></details>"
            )
        return "\n".join(parts) + "\n"
    if kind == Lesson.Kind.DOCUMENT:
        if not lesson.document:
            return ""
        return (
            f'<p><a class="button" href="{_escape(lesson.document.url)}" download>'
            f"{fixed['download']}</a></p>\n"
        )
    if kind == Lesson.Kind.XAPI:
        launch_url = _escape(_route("courses:launch", state.registration, lesson.pk))
        return (
            f'<p>{fixed["activity_note"]}</p><p><a class="button primary" '
            f'href="{launch_url}">{fixed["start_activity"]}</a></p>\n'
        )
    if kind == Lesson.Kind.ASSESSMENT:
        # The assessments app names the quiz page; it needs the enrolment's identity only, which
        # the player's state carries (pk, registration, status, version_id) without building a
        # model instance.
        action_url = lesson_url(state, lesson)
        html = f"<p>{fixed['assessment_note']}</p>"
        if action_url:
            html += (
                f'<p><a class="button primary" href="{_escape(action_url)}">'
                f"{fixed['open_assessment']}</a></p>"
            )
        return html + "\n"
    return ""


@lru_cache(maxsize=32)
def _fixed(language: str, script_prefix: str) -> dict[str, str]:
    """The parts of the page that depend only on the reader's language (and where the site is
    mounted), translated and escaped once per process; "stopped", "done" and "where" are
    templates for the % operator (escaped before the numbers and the time go in, which need no
    escaping)."""
    return {
        "breadcrumb": format_html(
            '<nav aria-label="{}"><a href="{}">{}</a> › ',
            _("Breadcrumb"),
            reverse("courses:my_learning"),
            _("My learning"),
        ),  # fmt: skip
        "progress_label": _escape(_("Course progress")),
        "done_mark": format_html(' ✓<span class="visually-hidden">{}</span>', _("Completed")),
        "completed": format_html('<span class="badge">{}</span>', _("Completed")),
        "watched": _escape(_("I have watched the video")),
        "lessons": _escape(_("Lessons")),
        "previous": _escape(_("Previous")),
        "next": _escape(_("Next")),
        "outline": format_html("<details><summary>{}</summary><ol>", _("Course outline")),
        "optional_mark": format_html(' <span class="badge">{}</span>', _("Optional")),
        "optional_note": format_html(
            "<p>{}</p>\n", _("This lesson is optional: completing the course does not need it.")
        ),
        "done": _escape(_("%(pct)s%% of the course done")),
        "where": _escape(_("Lesson %(position)s of %(count)s")),
        "captions": _escape(_("Captions")),
        "stopped": _escape(_("You stopped at %(time)s; the video resumes there.")),
        "open_video": _escape(_("Open the video")),
        "no_video": _escape(
            _("The video of this lesson is not available yet: its transcript, if any, is below.")
        ),
        "transcript": _escape(_("Transcript")),
        "download": _escape(_("Download the document")),
        "activity_note": _escape(
            _("This activity opens in a new page and reports your progress here.")
        ),
        "start_activity": _escape(_("Start the activity")),
        "assessment_note": _escape(
            _(
                "This lesson is an assessment: a quiz, an exam, an assignment or a practical evaluation."
            )
        ),
        "open_assessment": _escape(_("Open the assessment")),
    }


def content(
    request: Any, state: PlayerEnrollment, lesson: Lesson, outline: list[OutlineItem]
) -> SafeString:
    """The player's main content for one learner and lesson (the page's content block)."""
    language = state.language
    registration = state.registration
    active = get_language() or ""
    fixed = _fixed(active, get_script_prefix())
    # The lesson URLs differ only in the lesson id: one prefix for all of them.
    sample = _route("courses:lesson", registration, 0)
    prefix = _escape(sample[: -len("0/")])
    index = next(i for i, item in enumerate(outline) if item.pk == lesson.pk)
    status, position = state.progress.get(lesson.pk, ("", 0))
    pct = int(state.progress_pct)
    done_mark, optional_mark = fixed["done_mark"], fixed["optional_mark"]
    progress = state.progress
    items = []
    for item in outline:
        title = _text(item.title, active, language)
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
        complete_url = _escape(_route("courses:complete", registration, lesson.pk))
        action = (
            f'<form method="post" action="{complete_url}">'
            '<input type="hidden" name="csrfmiddlewaretoken" '
            f'value="{_escape(csrf_token(request))}">'
            f'<button type="submit" class="primary">{fixed["watched"]}</button></form>'
        )
    else:
        action = ""
    done_text = fixed["done"] % {"pct": pct}
    where = fixed["where"] % {"position": index + 1, "count": len(outline)}
    html = [
        fixed["breadcrumb"],
        _text(state.course_title, active, language),
        "</nav>\n",
        '<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        f'aria-valuenow="{pct}" aria-label="{fixed["progress_label"]}">'
        f'<span style="width:{pct}%"></span></div>\n',
        f"<p>{done_text} · {where}</p>\n",
        "<article>\n",
        f"<h1>{_text(lesson.title, active, language)}</h1>\n",
        "" if lesson.is_required else fixed["optional_note"],
        _lesson_body(request, state, lesson, status, position, active, fixed),
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
