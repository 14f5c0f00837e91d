"""lms.validators: the limit validators print their numbers as the reader writes them, in the
language active when the message is shown, and keep everything else of Django's."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django import forms
from django.core import validators
from django.core.exceptions import ValidationError
from django.utils import translation

from lms.validators import (
    LocalizedMaxValueValidator,
    LocalizedMinValueValidator,
    LocalizedStepValueValidator,
    localize_limits,
)


def _message(validator: validators.BaseValidator, value: object) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        validator(value)
    return refused.value


def test_the_limit_is_printed_when_the_message_is_shown() -> None:
    with translation.override("en"):
        error = _message(LocalizedMinValueValidator(Decimal("0.5")), Decimal("0.2"))
    assert error.code == "min_value"
    # Refused in one language, shown in another: words and number follow the one shown.
    with translation.override("fr"):
        assert error.messages == ["Assurez-vous que cette valeur est supérieure ou égale à 0,5."]
    with translation.override("en"):
        assert error.messages == ["Ensure this value is greater than or equal to 0.5."]


def test_maximum_and_step_with_offset_are_localized_too() -> None:
    step = LocalizedStepValueValidator(Decimal("0.5"), offset=Decimal("0.25"))
    with translation.override("es"):
        maximum = _message(LocalizedMaxValueValidator(2.5), 3.0).messages[0]
        steps = _message(step, Decimal("1")).messages[0]
    assert maximum.endswith(" 2,5.")
    assert "0,5," in steps  # Django's Spanish has no space before it
    assert "0,25, 0,75, 1,25" in steps


def test_a_value_within_the_limits_passes() -> None:
    LocalizedMinValueValidator(Decimal("0.5"))(Decimal("0.5"))
    LocalizedMaxValueValidator(Decimal("0.5"))(Decimal("0.5"))
    LocalizedStepValueValidator(Decimal("0.5"))(Decimal("1.5"))


def test_localize_limits_swaps_djangos_limits_and_keeps_the_widget() -> None:
    field = localize_limits(
        forms.DecimalField(
            min_value=Decimal("0.5"),
            max_value=Decimal(10),
            step_size=Decimal("0.5"),
            decimal_places=1,
        )
    )
    kinds = [type(validator) for validator in field.validators]
    assert LocalizedMinValueValidator in kinds
    assert LocalizedMaxValueValidator in kinds
    assert LocalizedStepValueValidator in kinds
    assert validators.MinValueValidator not in kinds
    assert validators.DecimalValidator in kinds  # the others stay
    assert 'min="0.5"' in field.widget.render("hours", "")  # browsers read a point
    with translation.override("pt"):
        with pytest.raises(ValidationError) as refused:
            field.clean("0.2")
        assert refused.value.messages[0].endswith(" 0,5.")
