"""Row ids read from what people send (query strings, form fields).

`str.isdigit` admits superscript and other Unicode digits ("²") that `int` refuses, and any
length, which the database refuses (bigint): both were 500s wherever a view checked a posted id
with isdigit and then used it. An id here is 1 to 18 ASCII digits and nothing else (no spaces), which always fits a bigint.
"""

from __future__ import annotations

import re

_ID = re.compile(r"[0-9]{1,18}")


def as_id(value: object) -> int | None:
    """`value` as a row id, or None when it is not one (empty, not ASCII digits, too long)."""
    if not isinstance(value, str):
        return None
    return int(value) if _ID.fullmatch(value) else None
