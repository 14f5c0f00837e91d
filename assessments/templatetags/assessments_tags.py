"""Template helpers of the assessments app: reading a stored response in the attempt form."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


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
