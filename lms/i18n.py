"""Translatable content stored as {language: text} dictionaries, and how a reader sees it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.translation import get_language


def pick(
    values: dict[str, Any] | None, language: str | None = None, default: str | None = None
) -> Any:
    """The value in `language`, else in `default`, else in any language that has one: never blank
    when some language has text."""
    if not values:
        return ""
    language = (language or get_language() or settings.LANGUAGE_CODE)[:2]
    for code in (language, default, settings.LANGUAGE_CODE, *settings.LANGUAGE_CODES):
        if code and values.get(code):
            return values[code]
    return next((value for value in values.values() if value), "")


def i18n_field(verbose_name: Any) -> Any:
    """A model field holding translatable text as {language: text}."""
    from django.db import models

    return models.JSONField(verbose_name, default=dict, blank=True)


def plural_count(amount: Any) -> int:
    """The count that picks the plural form of a decimal amount ("1.00 point", "2.50 points",
    "1.5 hours"): the amount itself when whole, else 2, a plural in every language of the
    platform. A template filter in courses_tags and assessments_tags."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return 2
    if not value.is_finite():
        return 2
    return int(value) if value == value.to_integral_value() else 2
