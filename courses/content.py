"""Lesson content made safe to show: authors' HTML sanitised with nh3, plain text escaped."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import nh3

# What django.utils.html.escape does (html.escape of str()), without its lazy-string wrapper and
# SafeString, for the pages built as one plain string and marked safe at the end (the player's
# body, My learning's cards).
escape_text = html.escape

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "a", "ul", "ol", "li", "blockquote", "code", "pre",
    "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "caption", "figure",
    "figcaption", "img", "hr", "dl", "dt", "dd", "abbr", "sub", "sup",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "abbr": {"title"},
    "th": {"scope"},
    "td": {"colspan", "rowspan"},
}


def clean_html(html: str) -> str:
    """Authors' HTML with scripts, event handlers, styles and unknown tags removed."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


LessonUrl = Callable[[Any, Any], "str | None"]
_lesson_url_providers: dict[str, LessonUrl] = {}


def register_lesson_url(kind: str, provider: LessonUrl) -> None:
    """Let a higher app (assessments) give the page where a lesson of `kind` is taken:
    provider(enrollment, lesson) -> URL or None. `enrollment` is an Enrollment or the lesson
    player's state (courses.selectors.PlayerEnrollment): read only its pk, registration, status
    and version_id."""
    _lesson_url_providers[kind] = provider


def lesson_url(enrollment: Any, lesson: Any) -> str | None:
    """The page of the higher app where this lesson is taken, if one registered."""
    provider = _lesson_url_providers.get(lesson.kind)
    return provider(enrollment, lesson) if provider else None


_learner_links: list[tuple[str, Any]] = []


def register_learner_link(url_name: str, label: Any) -> None:
    """Let a higher app (certification) add a link to "My learning", e.g. the learner's
    certificates, without courses importing it."""
    if url_name not in {name for name, _label in _learner_links}:
        _learner_links.append((url_name, label))


def learner_links() -> list[tuple[str, Any]]:
    """The (URL name, label) pairs registered for the "My learning" page."""
    return list(_learner_links)
