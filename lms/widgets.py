"""Form widgets the browser's own pickers need.

`<input type="date">` and `type="datetime-local"` take their value in ISO form only (2026-12-06,
2026-12-06T09:30) whatever the page's language; Django's DateInput writes the active language's
format (06/12/2026 in Spanish), which such a field drops, so that the field showed empty and a
form sent back with its defaults failed as "required" in every language but English.
"""

from __future__ import annotations

from typing import Any

from django import forms


class DateInput(forms.DateInput):
    """A date picker (`type="date"`) whose value is written as ISO 8601."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    """A date-and-time picker (`type="datetime-local"`) whose value is written as ISO 8601."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")
