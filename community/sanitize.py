"""Turning what members type into safe HTML: nothing a member writes can run a script."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h3",
    "h4",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
_URL = re.compile(r"(?<![\"'=])\bhttps?://[^\s<]+")


def clean_html(value: str) -> str:
    """Sanitise HTML from the library's editors: scripts, handlers and unknown tags removed."""
    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def text_to_html(value: str) -> str:
    """A member's plain text as paragraphs, links made clickable, everything else escaped."""
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", value.strip()) if part.strip()]
    rendered = []
    for paragraph in paragraphs:
        escaped = html.escape(paragraph)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        rendered.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    return clean_html("".join(rendered))
