"""The exam scenario's reading of the attempt page and the answers it sends, apart from Locust
(whose import patches the standard library for gevent) so that tests can check them against the
real attempt views (tests/loadtests/test_exam_scenario.py)."""

from __future__ import annotations

import random
import re
from typing import Any

_TAG = re.compile(r"<(input|textarea)\b([^>]*)>")
_ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')
_ANSWER_NAME = re.compile(r"q-\d+(?:-[\w-]+)?")
_SELECT = re.compile(r"<select\b([^>]*)>(.*?)</select>", re.S)
_OPTION = re.compile(r'<option value="([^"]+)"')


def answer_fields(html: str) -> list[tuple[str, str, str]]:
    """The attempt page's answer fields: (name, kind, value) of each input and text box whose
    name is a question's; kind is the input's type ("text" when it has none) or "textarea", and
    each option of a list is a "radio" of that name. The attributes are read in any order (the
    page writes an option's type before its name: read as a text box, its answer was a number
    that no option is, which the attempt views refuse since d5913e8)."""
    fields = []
    for tag, attributes in _TAG.findall(html):
        found = dict(_ATTRIBUTE.findall(attributes))
        name = found.get("name", "")
        if _ANSWER_NAME.fullmatch(name):
            kind = "textarea" if tag == "textarea" else found.get("type", "text")
            fields.append((name, kind, found.get("value", "")))
    for attributes, options in _SELECT.findall(html):  # a matching's prompts: one choice each
        name = dict(_ATTRIBUTE.findall(attributes)).get("name", "")
        if _ANSWER_NAME.fullmatch(name):
            fields += [(name, "radio", value) for value in _OPTION.findall(options)]
    return fields


def answers(fields: list[tuple[str, str, str]], csrf: str) -> dict[str, Any]:
    """A form an officer could send: one of the options offered for a choice (some of them for
    a multiple choice), a rank for an ordering, the hidden fields as they are, a short text
    for the rest."""
    data: dict[str, Any] = {"csrfmiddlewaretoken": csrf}
    for name, kind, value in fields:
        if kind == "radio":
            if random.random() < 0.5 or name not in data:  # noqa: S311
                data[name] = value
        elif kind == "checkbox":
            if random.random() < 0.5:  # noqa: S311
                data.setdefault(name, []).append(value)
        elif kind == "hidden":
            data[name] = value
        elif kind == "number":
            data[name] = str(random.randint(1, 3))  # noqa: S311
        else:
            data[name] = str(random.randint(1, 50))  # noqa: S311
    return data
