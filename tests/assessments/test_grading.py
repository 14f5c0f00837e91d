"""Automatic grading of each objective question kind."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessments.grading import fraction, points
from assessments.models import Question

K = Question.Kind


def test_single_choice_is_right_or_wrong() -> None:
    assert fraction(K.SINGLE, {"correct": "b"}, "b") == 1.0
    assert fraction(K.SINGLE, {"correct": "b"}, "a") == 0.0
    assert fraction(K.SINGLE, {"correct": "b"}, None) == 0.0


def test_true_false_accepts_form_values_and_booleans() -> None:
    assert fraction(K.TRUE_FALSE, {"correct": True}, "true") == 1.0
    assert fraction(K.TRUE_FALSE, {"correct": False}, "false") == 1.0
    assert fraction(K.TRUE_FALSE, {"correct": True}, "false") == 0.0


def test_multiple_choice_partial_credit_subtracts_wrong_choices() -> None:
    key = {"correct": ["a", "c"]}
    assert fraction(K.MULTIPLE, key, ["a", "c"]) == 1.0
    assert fraction(K.MULTIPLE, key, ["a"]) == 0.5
    assert fraction(K.MULTIPLE, key, ["a", "b"]) == 0.0
    assert fraction(K.MULTIPLE, key, ["a", "b", "c", "d"]) == 0.0


@settings(deadline=None)
@given(
    correct=st.sets(st.sampled_from("abcdefgh"), min_size=1),
    chosen=st.sets(st.sampled_from("abcdefgh")),
)
def test_multiple_choice_credit_is_bounded_and_full_only_when_exact(
    correct: set[str], chosen: set[str]
) -> None:
    earned = fraction(K.MULTIPLE, {"correct": sorted(correct)}, sorted(chosen))
    assert 0.0 <= earned <= 1.0
    assert (earned == 1.0) == (chosen == correct)
    # Adding a wrong option never raises the credit.
    wrong = next((o for o in "abcdefgh" if o not in correct and o not in chosen), None)
    if wrong:
        assert (
            fraction(K.MULTIPLE, {"correct": sorted(correct)}, sorted(chosen | {wrong})) <= earned
        )


@settings(deadline=None)
@given(
    value=st.decimals(min_value=-10000, max_value=10000, places=2),
    tolerance=st.decimals(min_value=0, max_value=100, places=2),
    offset=st.decimals(min_value=-200, max_value=200, places=2),
)
def test_numeric_answer_within_tolerance_is_right(
    value: Decimal, tolerance: Decimal, offset: Decimal
) -> None:
    key = {"value": float(value), "tolerance": float(tolerance)}
    given_answer = str(value + offset)
    expected = 1.0 if abs(offset) <= tolerance else 0.0
    assert fraction(K.NUMERIC, key, given_answer) == expected


def test_numeric_answer_accepts_a_decimal_comma_and_refuses_text() -> None:
    key = {"value": 3.5, "tolerance": 0.1}
    assert fraction(K.NUMERIC, key, "3,45") == 1.0
    assert fraction(K.NUMERIC, key, "three") == 0.0
    assert fraction(K.NUMERIC, key, "nan") == 0.0


def test_short_text_matches_exactly_ignoring_case_and_spaces_or_by_pattern() -> None:
    key = {"accepted": ["Interpol"], "pattern": r"inter ?pol"}
    assert fraction(K.SHORT_TEXT, key, "  interpol ") == 1.0
    assert fraction(K.SHORT_TEXT, key, "Inter pol") == 1.0
    assert fraction(K.SHORT_TEXT, key, "Europol") == 0.0
    assert fraction(K.SHORT_TEXT, {"accepted": ["ABC"], "case_sensitive": True}, "abc") == 0.0


def test_matching_earns_the_share_of_right_pairs() -> None:
    key = {"pairs": {"p1": "x", "p2": "y"}}
    assert fraction(K.MATCHING, key, {"p1": "x", "p2": "y"}) == 1.0
    assert fraction(K.MATCHING, key, {"p1": "x", "p2": "x"}) == 0.5
    assert fraction(K.MATCHING, key, "x") == 0.0


def test_ordering_earns_the_share_of_items_in_place() -> None:
    key = {"order": ["i1", "i2", "i3"]}
    assert fraction(K.ORDERING, key, ["i1", "i2", "i3"]) == 1.0
    assert fraction(K.ORDERING, key, ["i1", "i3", "i2"]) == pytest.approx(1 / 3)
    assert fraction(K.ORDERING, key, ["i1"]) == pytest.approx(1 / 3)


@settings(deadline=None)
@given(
    order=st.permutations(["a", "b", "c", "d", "e"]),
    response=st.permutations(["a", "b", "c", "d", "e"]),
)
def test_ordering_credit_is_full_only_for_the_exact_order(
    order: list[str], response: list[str]
) -> None:
    earned = fraction(K.ORDERING, {"order": order}, response)
    assert 0.0 <= earned <= 1.0
    assert (earned == 1.0) == (list(order) == list(response))


@pytest.mark.parametrize("kind", [K.ESSAY, K.FILE_UPLOAD, K.PRACTICAL])
def test_manual_kinds_are_not_graded_automatically(kind: str) -> None:
    with pytest.raises(ValueError, match="instructor"):
        fraction(kind, {}, "text")


def test_points_round_to_cents() -> None:
    assert points(1 / 3, Decimal(2)) == Decimal("0.67")
