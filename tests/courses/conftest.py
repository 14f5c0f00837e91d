"""Fixtures of the courses tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_catalogue_cache() -> None:
    """The catalogue caches its results for a minute: each test starts without them."""
    cache.clear()
