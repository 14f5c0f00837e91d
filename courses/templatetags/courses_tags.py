"""Template helpers of the courses app."""

from __future__ import annotations

from typing import Any

from django import template

from lms.i18n import pick

register = template.Library()


@register.simple_tag
def i18n_text(values: Any, default: str | None = None) -> str:
    """The text of a {language: text} value in the reader's language (never blank)."""
    if isinstance(values, dict):
        return str(pick(values, default=default))
    return "" if values is None else str(values)
