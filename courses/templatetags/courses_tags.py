"""Template helpers of the courses app."""

from __future__ import annotations

from typing import Any

from django import template

from lms.i18n import pick, plural_count

register = template.Library()
register.filter("plural_count", plural_count)


@register.simple_tag
def i18n_text(values: Any, default: str | None = None) -> str:
    """The text of a {language: text} value in the reader's language (never blank)."""
    if isinstance(values, dict):
        return str(pick(values, default=default))
    return "" if values is None else str(values)


@register.filter
def clock(seconds: Any) -> str:
    """Seconds as a clock reading: 125 -> "2:05", 3725 -> "1:02:05"."""
    try:
        total = max(int(seconds), 0)
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
