"""Template helpers of the assessments app: reading a stored response in the attempt form, and
showing a response or a question's right answer in words (the review and grading pages)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from assessments.models import Question
from lms.i18n import pick, plural_count

register = template.Library()
K = Question.Kind


register.filter("plural_count", plural_count)


@register.filter
def chosen(response: Any, option_id: Any) -> bool:
    """Whether an option was chosen (single, multiple and true/false responses)."""
    if isinstance(response, list):
        return str(option_id) in [str(item) for item in response]
    return response is not None and str(response).lower() == str(option_id).lower()


@register.filter
def matched(response: Any, prompt_id: Any) -> str:
    """The choice given to a matching prompt."""
    return str(response.get(str(prompt_id), "")) if isinstance(response, dict) else ""


@register.filter
def rank(response: Any, item_id: Any) -> str:
    """The position given to an ordering item (1-based), or empty."""
    if isinstance(response, list) and str(item_id) in response:
        return str(response.index(str(item_id)) + 1)
    return ""


@register.filter
def as_text(response: Any) -> str:
    """A stored response as plain text, for the review and grading pages."""
    if response is None:
        return ""
    if isinstance(response, list):
        return ", ".join(str(item) for item in response)
    if isinstance(response, dict):
        return "; ".join(f"{key} → {value}" for key, value in response.items())
    return str(response)


def _labels(question: Question) -> dict[str, Any]:
    """The texts of what a response names by id: options, choices, prompts and items."""
    data = question.data or {}
    labels: dict[str, Any] = {}
    for group in ("options", "choices", "prompts", "items"):
        for entry in data.get(group, []) or []:
            if isinstance(entry, dict) and "id" in entry:
                labels[f"{group}:{entry['id']}"] = entry.get("text")
    return labels


def _label(labels: dict[str, Any], group: str, item_id: Any) -> str:
    text = labels.get(f"{group}:{item_id}")
    if isinstance(text, dict):
        return str(pick(text))
    return str(text) if text else str(item_id)


def in_words(question: Question, value: Any) -> str:
    """A response (or a right answer in the response's shape) as the learner saw it: option
    texts rather than their ids, True/False in the reader's language, matched pairs and orders
    by their texts. Empty when there is none."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    labels = _labels(question)
    kind = question.kind
    if kind == K.SINGLE:
        return _label(labels, "options", value)
    if kind == K.MULTIPLE:
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(_label(labels, "options", item) for item in chosen)
    if kind == K.TRUE_FALSE:
        return _("True") if str(value).lower() == "true" else _("False")
    if kind == K.MATCHING and isinstance(value, dict):
        return "; ".join(
            f"{_label(labels, 'prompts', prompt)} → {_label(labels, 'choices', choice)}"
            for prompt, choice in value.items()
        )
    if kind == K.ORDERING and isinstance(value, list):
        return " → ".join(_label(labels, "items", item) for item in value)
    return as_text(value)


def _number(value: Any) -> str:
    """A number of a question's key in the reader's notation ("3,5" in French and Spanish);
    anything else as stored, empty for none."""
    if value is None or value == "" or isinstance(value, bool):
        return ""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return str(value)
    return number_format(number) if number.is_finite() else str(value)


@register.simple_tag
def answer_text(question: Question, response: Any) -> str:
    """`{% answer_text question response %}`: the response in words (in_words)."""
    return in_words(question, response)


@register.simple_tag
def right_answer_text(question: Question) -> str:
    """`{% right_answer_text question %}`: what the question's key accepts, in words."""
    key = question.key or {}
    kind = question.kind
    if kind in (K.SINGLE, K.MULTIPLE, K.TRUE_FALSE):
        return in_words(question, key.get("correct"))
    if kind == K.MATCHING:
        return in_words(question, key.get("pairs"))
    if kind == K.ORDERING:
        return in_words(question, key.get("order"))
    if kind == K.NUMERIC:
        value, tolerance = _number(key.get("value")), _number(key.get("tolerance"))
        if not value:
            return ""
        return f"{value} ± {tolerance}" if tolerance.strip("0,. ") else value
    if kind == K.SHORT_TEXT:
        accepted = [str(text) for text in key.get("accepted", []) if text]
        return " / ".join(accepted) if accepted else str(key.get("pattern") or "")
    return as_text(key)
