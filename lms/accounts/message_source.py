"""A message kept as its untranslated source and parameters, rendered in any language later.

A notification is read days after it was sent, often after its reader changed language: the
site shows it from this source, in the language of the page. Parameters keep their kind, so a
number or a date is written as the reader's language writes it (12,5 · 5 de noviembre de 2029),
and multilingual content ({language: text}, as a course title) is shown in the reader's language.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats, timezone, translation
from django.utils.functional import Promise

from lms.i18n import pick


def _source(text: Promise | str) -> str:
    """The text's msgid: a lazy translation rendered with no language active is its source."""
    if isinstance(text, Promise):
        with translation.override(None):
            return str(text)
    return str(text)


def _param(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return str(value) if value is not None else ""
    if isinstance(value, int):
        return value
    if isinstance(value, (Decimal, float)):
        return {"number": str(value)}
    if isinstance(value, datetime.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"date": value.isoformat()}
    if isinstance(value, Promise):
        return {"text": _source(value)}
    if isinstance(value, dict):
        # Multilingual content, {language code: text}: each language is kept.
        return {"i18n": {str(code): str(text) for code, text in value.items() if text}}
    return str(value)


def source(
    subject: Promise | str, body: Promise | str, params: dict[str, Any] | None
) -> dict[str, Any]:
    """What ``render_source`` needs to write the message again in any language (JSON)."""
    return {
        "subject": _source(subject),
        "body": _source(body),
        "params": {name: _param(value) for name, value in (params or {}).items()},
    }


def _shown(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "number" in value:
        try:
            number = Decimal(value["number"])
        except InvalidOperation:
            return value["number"]
        if number == number.to_integral_value():
            number = number.quantize(Decimal(1))
        else:
            number = number.normalize()
        return formats.number_format(number, use_l10n=True)
    if "datetime" in value:
        moment = datetime.datetime.fromisoformat(value["datetime"])
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)  # in the reader's zone (lms.accounts.zones)
        return formats.date_format(moment, "DATETIME_FORMAT")
    if "date" in value:
        return formats.date_format(datetime.date.fromisoformat(value["date"]), "DATE_FORMAT")
    if "text" in value:
        return translation.gettext(value["text"])
    if "i18n" in value:
        texts = value["i18n"]
        return str(pick(texts)) if isinstance(texts, dict) else ""
    return ""


def render(text: Promise | str, params: dict[str, Any] | None) -> str:
    """The text in the active language with its parameters written for that language."""
    return render_source(source(text, "", params), "subject", str(text))


def render_source(message: dict[str, Any], part: str, fallback: str) -> str:
    """One part ("subject" or "body") of a kept source in the active language; ``fallback``
    (the text as sent) when there is no source or it no longer fits its parameters."""
    text = message.get(part) if message else None
    if not text:
        return fallback
    try:
        params = {name: _shown(value) for name, value in message.get("params", {}).items()}
        translated = translation.gettext(text)
        if params:
            return translated % params
        return fallback if "%(" in translated else translated
    except (KeyError, TypeError, ValueError):
        return fallback
