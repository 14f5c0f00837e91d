"""Limit validators whose messages print the limit as the reader writes numbers ("0,5" in French).

Django's MinValueValidator, MaxValueValidator and StepValueValidator put their limit into the
message as Python prints it: a French, Spanish or Portuguese reader was told "supérieure ou égale
à 0.5" on a page where every other number reads "0,5". These print the limit (and a step's offset
and examples) with number_format, in the language active when the message is shown.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from django import forms
from django.core import validators
from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.functional import lazy

FieldT = TypeVar("FieldT", bound=forms.Field)

# Formatted when the message is shown, so in the language of the page that shows it.
_number_in_reader_format = lazy(number_format, str)


def _localized(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {
        key: _number_in_reader_format(value)
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        else value
        for key, value in params.items()
    }


class _LocalizedLimit(validators.BaseValidator):
    """Raises the parent validator's error with its numbers in the reader's notation."""

    def __call__(self, value: Any) -> None:
        try:
            super().__call__(value)
        except ValidationError as error:
            error.params = _localized(error.params)
            raise


class LocalizedMinValueValidator(_LocalizedLimit, validators.MinValueValidator):
    """MinValueValidator whose message reads "… greater than or equal to 0,5." in French."""


class LocalizedMaxValueValidator(_LocalizedLimit, validators.MaxValueValidator):
    """MaxValueValidator whose message reads "… less than or equal to 0,5." in French."""


class LocalizedStepValueValidator(_LocalizedLimit, validators.StepValueValidator):
    """StepValueValidator whose message reads "… multiple of step size 0,5." in French."""


def localize_limits(field: FieldT) -> FieldT:
    """`field` with the limit validators Django made from its min_value, max_value and step_size
    replaced by the ones above (same limits and messages; its widget's min, max and step are
    untouched, as browsers read them with a point). Returns the field, for declarations:
    `hours = localize_limits(forms.DecimalField(min_value=Decimal("0.5")))`."""
    field.validators = [_localized_validator(validator) for validator in field.validators]
    return field


def _localized_validator(validator: Any) -> Any:
    kind = type(validator)
    if kind is validators.MinValueValidator:
        return LocalizedMinValueValidator(validator.limit_value, validator.message)
    if kind is validators.MaxValueValidator:
        return LocalizedMaxValueValidator(validator.limit_value, validator.message)
    if kind is validators.StepValueValidator:
        return LocalizedStepValueValidator(
            validator.limit_value, validator.message, offset=validator.offset
        )
    return validator
