"""Automatic grading of the objective question kinds: pure functions of (kind, key, response).

Each returns the fraction of the question's points earned, between 0 and 1. Partial credit:
multiple choice earns (right options chosen − wrong options chosen) / right options, never below
zero (so ticking everything earns nothing); matching and ordering earn the share of pairs or
positions that are right.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from assessments.models import Question

TWO_PLACES = Decimal("0.01")

logger = logging.getLogger(__name__)


def _normalise(text: str, case_sensitive: bool) -> str:
    text = unicodedata.normalize("NFC", " ".join(str(text).split()))
    return text if case_sensitive else text.casefold()


def as_number(value: Any) -> float | None:
    """A numeric answer as a number (a decimal comma too), or None when it is not one."""
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fraction(kind: str, key: dict[str, Any], response: Any) -> float:
    """The fraction of points earned by `response` for a question of `kind` graded by `key`."""
    if response is None or response == "" or response == []:
        return 0.0
    if kind == Question.Kind.SINGLE:
        return 1.0 if str(response) == str(key.get("correct")) else 0.0
    if kind == Question.Kind.TRUE_FALSE:
        return 1.0 if str(response).lower() == str(key.get("correct")).lower() else 0.0
    if kind == Question.Kind.MULTIPLE:
        correct = {str(option) for option in key.get("correct", [])}
        chosen = {str(option) for option in (response if isinstance(response, list) else [])}
        if not correct:
            return 0.0
        earned = len(chosen & correct) - len(chosen - correct)
        return max(0.0, earned / len(correct))
    if kind == Question.Kind.NUMERIC:
        given = as_number(response)
        expected = as_number(key.get("value"))
        tolerance = abs(as_number(key.get("tolerance", 0)) or 0.0)
        if given is None or expected is None:
            return 0.0
        # A tiny epsilon so that 3.4 within 0.1 of 3.5 is not lost to binary floating point.
        return 1.0 if abs(given - expected) <= tolerance + 1e-9 * max(1.0, abs(expected)) else 0.0
    if kind == Question.Kind.SHORT_TEXT:
        case_sensitive = bool(key.get("case_sensitive", False))
        given_text = _normalise(str(response), case_sensitive)
        accepted = {_normalise(text, case_sensitive) for text in key.get("accepted", [])}
        if given_text in accepted:
            return 1.0
        pattern = key.get("pattern")
        if pattern:
            flags = 0 if case_sensitive else re.IGNORECASE
            try:
                matched = re.fullmatch(str(pattern), given_text, flags)
            except re.error:
                # a key saved past Question.clean (a bad pattern matches nothing)
                logger.warning("short text key with an invalid pattern: %r", pattern)
                return 0.0
            return 1.0 if matched else 0.0
        return 0.0
    if kind == Question.Kind.MATCHING:
        pairs: dict[str, str] = {str(k): str(v) for k, v in key.get("pairs", {}).items()}
        given_pairs = response if isinstance(response, dict) else {}
        if not pairs:
            return 0.0
        right = sum(1 for prompt, choice in pairs.items() if str(given_pairs.get(prompt)) == choice)
        return right / len(pairs)
    if kind == Question.Kind.ORDERING:
        order = [str(item) for item in key.get("order", [])]
        given_order = [str(item) for item in (response if isinstance(response, list) else [])]
        if not order:
            return 0.0
        right = sum(
            1
            for index, item in enumerate(order)
            if index < len(given_order) and given_order[index] == item
        )
        return right / len(order)
    raise ValueError(f"{kind} is graded by an instructor")


def points(fraction_earned: float, max_points: Decimal) -> Decimal:
    """Points for a fraction of `max_points`, rounded to cents."""
    return (Decimal(str(fraction_earned)) * max_points).quantize(TWO_PLACES, ROUND_HALF_UP)


def is_right(kind: str, key: dict[str, Any], response: Any) -> bool:
    """Whether a response earns full marks (for the review page's right/wrong marks)."""
    return fraction(kind, key, response) >= 1.0
