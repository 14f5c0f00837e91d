"""Errors of the LRS: a status and a message naming the field and the rule."""

from __future__ import annotations


class XAPIError(Exception):
    """An error answered with `status` and a message naming the field and the rule."""

    def __init__(self, status: int, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.status = status
        self.field = field
        self.rule = rule


def bad(field: str, rule: str) -> XAPIError:
    """A 400 Bad Request about `field`."""
    return XAPIError(400, field, rule)
